-- wrk script: POST eligible, distinct verification requests to intake.
-- Each wrk thread numbers its own requests; the thread id keeps them distinct across threads.
local counter = 0

function setup(thread)
  thread:set("tid", tostring(math.random(1, 1000000000)))
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("QV_API_KEY")

request = function()
  counter = counter + 1
  local n = tid .. "-" .. counter
  local body = string.format(
    '{"qualification_id":"aws-e94e5145","region":"beijing",' ..
    '"holder":{"name":"ZHANG Wei","nationality":"CHN","document_type":"passport",' ..
    '"document_number":"E%s"},' ..
    '"certificate":{"number":"AWS-%s","issued_on":"2024-01-01"},"consent":true}', n, n)
  return wrk.format(nil, "/v1/verifications", nil, body)
end
