#!/usr/bin/env bash
# Makes the TLS fixtures the tests use, with the openssl CLI, into the folder given (created if
# missing). Used by the Jest harness (test/helpers/tls-certs.js) and the GoogleTests
# (test/native/support). Keys are P-256 (fast to make); certificates last 30 days.
#   ca.crt/ca.key             the test CA
#   other-ca.crt/.key         a CA nobody trusts (unknown-CA case)
#   server.crt/.key           CN localhost, SAN DNS:localhost, IP:127.0.0.1, signed by ca
#   wrongname.crt/.key        SAN DNS:redis.example.com only, signed by ca (name mismatch)
#   other-server.crt/.key     like server, but signed by other-ca (unknown CA)
#   expired.crt/.key          SAN localhost/127.0.0.1, valid 2020-01-01..2020-01-02, signed by ca
#   client.crt/.key           clientAuth certificate signed by ca (mutual TLS)
#   other-client.crt/.key     clientAuth certificate signed by other-ca (rejected by the server)
set -euo pipefail
out=${1:?usage: gen-certs.sh <folder>}
mkdir -p "$out"
cd "$out"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1.key" 2>/dev/null; }
ca() { # name cn
  key "$1"
  openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 30 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
leaf() { # name cn san eku signer
  key "$1"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf "subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n" "$3" "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$5.crt" -CAkey "$5.key" -CAcreateserial -out "$1.crt" \
    -days 30 -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
ca ca "respcache test CA"
ca other-ca "respcache other CA"
leaf server localhost "DNS:localhost,IP:127.0.0.1" serverAuth ca
leaf other-server localhost "DNS:localhost,IP:127.0.0.1" serverAuth other-ca
leaf wrongname redis.example.com "DNS:redis.example.com" serverAuth ca
leaf client respcache-client "DNS:respcache-client" clientAuth ca
leaf other-client respcache-client "DNS:respcache-client" clientAuth other-ca
# OpenSSL 3.0's x509 -req has no -not_before: `openssl ca` takes explicit dates.
rm -rf cadb && mkdir cadb && : > cadb/index.txt && echo 01 > cadb/serial
cat > ca.cnf <<'CNF'
[ca]
default_ca = c
[c]
dir = ./cadb
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir
default_md = sha256
policy = p
copy_extensions = none
[p]
commonName = supplied
[x]
subjectAltName = DNS:localhost,IP:127.0.0.1
extendedKeyUsage = serverAuth
basicConstraints = CA:FALSE
CNF
key expired
openssl req -new -key expired.key -out expired.csr -subj "/CN=localhost" 2>/dev/null
openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in expired.csr -out expired.crt \
  -startdate 20200101000000Z -enddate 20200102000000Z -extensions x 2>/dev/null
rm -rf cadb ca.cnf expired.csr ca.srl other-ca.srl
