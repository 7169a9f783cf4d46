// encodeEntry(...) and decodeEntryParts(...): the entry codec exported to JavaScript.
#pragma once
#include <napi.h>

namespace respcache {

Napi::Value EncodeEntryJs(const Napi::CallbackInfo& info);
Napi::Value DecodeEntryParts(const Napi::CallbackInfo& info);

}  // namespace respcache
