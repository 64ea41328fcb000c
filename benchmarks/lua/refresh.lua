-- POST {"refresh_token": ...} to the URL given to wrk (the refresh_token grant). The tokens, one a line,
-- come from the file named after `--`; each answer's new refresh token goes back in the pool and is the
-- one the connection sends next, so every token is sent once and every chain keeps rotating. Each request
-- comes from its own client address, so per-client limits do not stop the load.
local pool = {}

function init(args)
  for line in io.lines(args[1]) do
    pool[#pool + 1] = line
  end
end

local sent = 0

function request()
  local token = table.remove(pool) or "pool-exhausted"
  local body = string.format('{"refresh_token": "%s"}', token)
  sent = sent + 1
  local address = string.format("2001:db8:bb:%x::%x", math.floor(sent / 65536), sent % 65536)
  local headers = {["Content-Type"] = "application/json", ["Sb-Forwarded-For"] = address, ["X-Forwarded-For"] = address}
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status == 200 then
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token then
      pool[#pool + 1] = token
    end
  end
end
