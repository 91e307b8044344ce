-- wrk script: POST verification requests for authentic certificates the simulator holds.
-- CERTS_LUA names a generated file defining `certs = {{number, name, issued_on}, ...}`.
dofile(os.getenv("CERTS_LUA"))
local counter = 0
-- QV_DELAY_MS: each connection waits this long before its next request (a set rate).
local pause = tonumber(os.getenv("QV_DELAY_MS") or "0")

function setup(thread)
  thread:set("tid", tostring(math.random(1, 1000000000)))
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("QV_API_KEY")

request = function()
  counter = counter + 1
  local cert = certs[(counter % #certs) + 1]
  local body = string.format(
    '{"qualification_id":"aws-e94e5145","region":"hebei",' ..
    '"holder":{"name":"%s","nationality":"CHN","document_type":"passport",' ..
    '"document_number":"E%s-%d"},' ..
    '"certificate":{"number":"%s","issued_on":"%s"},"consent":true}',
    cert[2], tid, counter, cert[1], cert[3])
  return wrk.format(nil, "/v1/verifications", nil, body)
end

if pause > 0 then
  delay = function()
    return pause
  end
end
