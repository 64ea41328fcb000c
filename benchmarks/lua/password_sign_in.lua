-- POST {"email": ..., "password": ...} to the URL given to wrk (the password grant), the address and the
-- password named after `--`, each request from its own client address (in both forwarding headers that
-- servers of this dialect may trust), so that per-client limits do not stop the load.
local body
local sent = 0

function init(args)
  body = string.format('{"email": "%s", "password": "%s"}', args[1], args[2])
end

function request()
  sent = sent + 1
  local address = string.format("2001:db8:aa:%x::%x", math.floor(sent / 65536), sent % 65536)
  local headers = {["Content-Type"] = "application/json", ["Sb-Forwarded-For"] = address, ["X-Forwarded-For"] = address}
  return wrk.format("POST", nil, headers, body)
end
