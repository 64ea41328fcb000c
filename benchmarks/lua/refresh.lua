-- POST {"refresh_token": ...} to the URL given to wrk (the refresh_token grant). The tokens, one a line,
-- come from the file named after `--`; each answer's new refresh token goes back in the pool and is the
-- one the connection sends next, so every token is sent once and every chain keeps rotating.
local pool = {}

function init(args)
  for line in io.lines(args[1]) do
    pool[#pool + 1] = line
  end
end

function request()
  local token = table.remove(pool) or "pool-exhausted"
  local body = string.format('{"refresh_token": "%s"}', token)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status == 200 then
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token then
      pool[#pool + 1] = token
    end
  end
end
