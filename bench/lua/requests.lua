-- wrk script: sends the requests listed in $BENCH_REQUESTS, one per line as `token<TAB>json body`,
-- and counts responses that are not 200 or that carry GraphQL "errors".
-- With BENCH_CYCLE=1 every thread cycles through all lines (reads). Otherwise the lines are
-- split among the $BENCH_THREADS threads and each is sent once (writes with fresh inputs); a
-- thread that runs out repeats its last request, which the server refuses and is counted.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  errors = 0
  queue = {}
  position = 0
  cycle = os.getenv("BENCH_CYCLE") == "1"
  local total_threads = tonumber(os.getenv("BENCH_THREADS") or "1")
  local index = 0
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    if cycle or index % total_threads == id then
      local tab = line:find("\t", 1, true)
      local token = line:sub(1, tab - 1)
      local headers = { ["Content-Type"] = "application/json" }
      if token ~= "" then
        headers["Authorization"] = "Bearer " .. token
      end
      table.insert(queue, wrk.format("POST", nil, headers, line:sub(tab + 1)))
    end
    index = index + 1
  end
end

function request()
  position = position + 1
  if position > #queue then
    position = cycle and 1 or #queue
  end
  return queue[position]
end

function response(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("errors")
  end
  io.write(string.format("responses with errors: %d\n", total))
  for _, thread in ipairs(threads) do
    io.write(string.format("thread %d sent %d\n", thread:get("id"), thread:get("position")))
  end
end
