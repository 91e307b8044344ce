-- wrk script: GET one of many paths (one per line of the file named by QV_PATHS_FILE), in turn.
local paths = {}
for line in io.lines(os.getenv("QV_PATHS_FILE")) do
  paths[#paths + 1] = line
end
local counter = 0

function setup(thread)
  thread:set("offset", math.random(1, #paths))
end

request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(offset + counter) % #paths + 1])
end
