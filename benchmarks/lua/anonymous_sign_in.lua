-- POST {} to the URL given to wrk (an anonymous sign-in), each from its own client address in the
-- Sb-Forwarded-For and X-Forwarded-For headers (whichever the server trusts), as when many visitors arrive
-- at once (a documentation prefix, 2001:db8::/32).
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

local sent = 0

function request()
  sent = sent + 1
  local address = string.format("2001:db8:%x::%x:%x", thread_number or 0, math.floor(sent / 65536), sent % 65536)
  local headers = {["Content-Type"] = "application/json", ["Sb-Forwarded-For"] = address, ["X-Forwarded-For"] = address}
  return wrk.format("POST", nil, headers, "{}")
end
