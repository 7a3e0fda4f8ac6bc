-- wrk script: snippet-shaped batches (page view + 3 clicks + scroll + layout +
-- attention = 7 events), every event id unique, spread over 4 sites and many
-- visitors, so nothing is deduplicated away. The thread id and a per-thread
-- counter make ids unique across wrk threads.
local counter = 0
local nonce = "0"
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  -- A nonce per wrk run (first script argument): ids stay unique across runs.
  nonce = args[1] or "0"
  thread_id = tid
  wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
  wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
end

function request()
  counter = counter + 1
  local n = string.format("%st%02dr%09d", nonce, thread_id, counter)
  local site = "bench" .. (counter % 4)
  local visitor = string.format("visitor%02d%05d", thread_id, counter % 5000)
  local ts = os.time() * 1000
  local pv = "pv" .. n
  local body = string.format(
    '{"s":"%s","v":"%s","e":[' ..
    '{"t":"pv","id":"%s","p":"%s","ts":%d,"u":"https://bench.example.com/blog/post-%d?utm_source=bench","r":"https://www.google.com/","ti":"Post %d","vw":1440,"vh":900,"dh":4200},' ..
    '{"t":"c","id":"c1%s","p":"%s","ts":%d,"x":300,"y":420,"vw":1440,"s":"#cta","fx":0.25,"fy":0.5,"tg":"a","tx":"Book a demo","h":"https://bench.example.com/demo","in":true},' ..
    '{"t":"c","id":"c2%s","p":"%s","ts":%d,"x":640,"y":1220,"vw":1440,"s":"main>p:nth-of-type(3)","fx":0.4,"fy":0.2,"tg":"p","tx":"Some text","in":false},' ..
    '{"t":"c","id":"c3%s","p":"%s","ts":%d,"x":700,"y":2400,"vw":1440,"s":"#pricing-link","fx":0.5,"fy":0.5,"tg":"a","tx":"Pricing","h":"https://bench.example.com/pricing","in":true},' ..
    '{"t":"s","id":"s1%s","p":"%s","ts":%d,"d":3100,"dh":4200},' ..
    '{"t":"l","id":"l1%s","p":"%s","ts":%d,"sec":[[1,"Title",0,900],[2,"Why",900,1500],[2,"How",2400,1800]]},' ..
    '{"t":"a","id":"a1%s","p":"%s","ts":%d,"ms":42000,"a":[[0,12000],[1,20000],[2,10000]]}' ..
    ']}',
    site, visitor, pv, pv, ts, counter % 300, counter % 300,
    n, pv, ts, n, pv, ts, n, pv, ts, n, pv, ts, n, pv, ts, n, pv, ts)
  return wrk.format("POST", "/e", nil, body)
end

function done(summary, latency, requests)
  local codes = 0
  io.write(string.format("RESULT requests=%d duration_us=%d errors_status=%d errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
