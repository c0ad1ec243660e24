/**
 * The Lua scripts of {@link RedisStore}: one per Store primitive, so each primitive is one
 * round trip and atomic. Every script gets the key prefix (with its `{hash tag}`) as ARGV[1]
 * and `now` as ARGV[2] ('' = the Redis server's `TIME`), declares one key of that slot for
 * routing, and builds the other key names from the prefix: they all hash to the same slot.
 *
 * Money: counters are signed 64-bit integers kept by HINCRBY. Lua numbers are doubles, so an
 * amount is never turned into a Lua number; caps are compared on two exact limbs (value =
 * hi * 1e9 + lo), each well inside 2^53. Window weights are small and stay doubles.
 *
 * Key layout under prefix P = `{tag}:`:
 * - `P c:<key>`  counter: hash { u = used, h = held }
 * - `P w:<key>`  window: hash { m = 'b'|'e', W = windowMs, B = buckets, T = total, L = last bucket index, 1..B = bucket counts }
 *                (exact windows keep `t<ms>` = weight of the hits at that ms instead of buckets)
 * - `P l:<key>`  exact window's hit times: sorted set (member = score = ms)
 * - `P r:<id>`   live reservation: hash { <counter key> = amount held }
 * - `P leases`   sorted set of live reservation ids by lease end
 * - `P v:<key>`  versioned value: hash { n = version, s = value }
 * - `P ledger`   stream of ledger entries (field `e` = JSON), capped with MAXLEN ~
 */

const PRELUDE = `
if redis.replicate_commands then redis.replicate_commands() end
local P = ARGV[1]
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[2])
end
local LEASES = P .. 'leases'
local LB = 1000000000
local MAXH, MAXL = 9223372036, 854775807
local MINH, MINL = -9223372037, 145224192

local function int(x) return string.format('%.0f', x) end
local function num(x) return string.format('%.17g', x) end

-- A signed decimal integer string as exact limbs: value = hi * 1e9 + lo, 0 <= lo < 1e9.
local function limbs(s)
  local neg = string.sub(s, 1, 1) == '-'
  if neg then s = string.sub(s, 2) end
  local n = #s
  local hi, lo
  if n <= 9 then hi = 0; lo = tonumber(s) else hi = tonumber(string.sub(s, 1, n - 9)); lo = tonumber(string.sub(s, n - 8)) end
  if neg then
    hi = -hi; lo = -lo
    if lo < 0 then lo = lo + LB; hi = hi - 1 end
  end
  return hi, lo
end

local function sum3(a, b, c)
  local h1, l1 = limbs(a)
  local h2, l2 = limbs(b)
  local h3, l3 = limbs(c)
  local hi, lo = h1 + h2 + h3, l1 + l2 + l3
  local carry = math.floor(lo / LB)
  return hi + carry, lo - carry * LB
end

local function cmp(h1, l1, h2, l2)
  if h1 ~= h2 then if h1 < h2 then return -1 else return 1 end end
  if l1 ~= l2 then if l1 < l2 then return -1 else return 1 end end
  return 0
end

local function fits64(hi, lo)
  return cmp(hi, lo, MAXH, MAXL) <= 0 and cmp(hi, lo, MINH, MINL) >= 0
end

-- Drop a reservation's holds from its counters (a counter deleted meanwhile is skipped).
local function dropHolds(id)
  local rk = P .. 'r:' .. id
  local f = redis.call('HGETALL', rk)
  for i = 1, #f, 2 do
    local ck = P .. 'c:' .. f[i]
    if redis.call('EXISTS', ck) == 1 then
      if redis.call('HINCRBY', ck, 'h', '-' .. f[i + 1]) < 0 then redis.call('HSET', ck, 'h', '0') end
    end
  end
  redis.call('DEL', rk)
  redis.call('ZREM', LEASES, id)
end

-- Return the amounts of leases that ended at or before now (a bounded batch per call).
local function expireLeases(limit)
  local due = redis.call('ZRANGEBYSCORE', LEASES, '-inf', int(now), 'LIMIT', 0, limit)
  for _, id in ipairs(due) do dropHolds(id) end
  return #due
end

-- Give a counter a TTL: idle after max(expiresAt, lease end); a persistent counter stays so.
local function touchTtl(ck, existed, exp, holdEnd)
  local want = -1
  if exp ~= '' then want = tonumber(exp) - now end
  if holdEnd ~= nil and holdEnd - now > want then want = holdEnd - now end
  if want < 0 then return end
  if want < 60000 then want = 60000 end
  if existed == 0 then
    if exp ~= '' then redis.call('PEXPIRE', ck, int(want)) end
    return
  end
  local t = redis.call('PTTL', ck)
  if t >= 0 and want > t then redis.call('PEXPIRE', ck, int(want)) end
end

-- ---- windows -----------------------------------------------------------------------------

-- Load a window (nil when absent). Bucketed: counts in w.c[1..B].
local function loadWin(key)
  local wk = P .. 'w:' .. key
  local m = redis.call('HMGET', wk, 'm', 'W', 'B', 'T', 'L')
  if not m[1] then return nil end
  local w = { key = key, wk = wk, mode = m[1], W = tonumber(m[2]), B = tonumber(m[3]), T = tonumber(m[4]), dirty = {} }
  if w.mode == 'b' then
    w.L = tonumber(m[5])
    local fields = {}
    for i = 1, w.B do fields[i] = tostring(i) end
    local c = redis.call('HMGET', wk, unpack(fields))
    w.c = {}
    for i = 1, w.B do w.c[i] = tonumber(c[i]) or 0 end
  else
    w.lk = P .. 'l:' .. key
  end
  return w
end

local function newWin(key, W, B, mode)
  local w = { key = key, wk = P .. 'w:' .. key, mode = mode, W = W, B = B, T = 0, dirty = {}, fresh = true }
  if mode == 'b' then
    w.L = -1
    w.c = {}
    for i = 1, B do w.c[i] = 0 end
  else
    w.lk = P .. 'l:' .. key
  end
  return w
end

local function advance(w)
  local idx = math.floor(now / (w.W / w.B))
  if idx > w.L then
    local n = w.B
    if w.L < 0 or idx - w.L >= n then
      for i = 1, n do
        if w.c[i] ~= 0 then w.c[i] = 0; w.dirty[i] = true end
      end
      w.T = 0
    else
      for b = w.L + 1, idx do
        local s = b % n + 1
        w.T = w.T - w.c[s]
        if w.c[s] ~= 0 then w.c[s] = 0; w.dirty[s] = true end
      end
    end
    w.L = idx
    w.moved = true
  end
  return idx
end

-- Exact window: forget hits that left (now - W, now].
local function expireLog(w)
  local cutoff = now - w.W
  local gone = redis.call('ZRANGEBYSCORE', w.lk, '-inf', int(cutoff))
  if #gone > 0 then
    for _, t in ipairs(gone) do
      local f = 't' .. t
      w.T = w.T - (tonumber(redis.call('HGET', w.wk, f)) or 0)
      redis.call('HDEL', w.wk, f)
    end
    redis.call('ZREMRANGEBYSCORE', w.lk, '-inf', int(cutoff))
    if redis.call('ZCARD', w.lk) == 0 then w.T = 0 end
    redis.call('HSET', w.wk, 'T', num(w.T))
  end
end

local function winCount(w)
  if w.mode == 'b' then advance(w) else expireLog(w) end
  return w.T
end

-- Ms until weight more fits under limit: 0 now, nil never.
local function winFits(w, limit, weight)
  if weight > limit then return nil end
  local count = winCount(w)
  if count + weight <= limit then return 0 end
  if w.mode == 'b' then
    local n = w.B
    local bms = w.W / n
    local idx = w.L
    for b = idx - n + 1, idx do
      count = count - w.c[b % n + 1]
      if count + weight <= limit then return math.max(1, (b + n) * bms - now) end
    end
    return math.max(1, (idx + n) * bms - now)
  end
  local ts = redis.call('ZRANGE', w.lk, 0, -1)
  for _, t in ipairs(ts) do
    count = count - (tonumber(redis.call('HGET', w.wk, 't' .. t)) or 0)
    if count + weight <= limit then return math.max(1, tonumber(t) + w.W - now) end
  end
  return math.max(1, tonumber(ts[#ts]) + w.W - now)
end

local function winUntilEmpty(w)
  local count = winCount(w)
  if count <= 0 then return 0 end
  if w.mode == 'b' then
    local n = w.B
    local bms = w.W / n
    for b = w.L, w.L - n + 1, -1 do
      if w.c[b % n + 1] > 0 then return math.max(1, (b + n) * bms - now) end
    end
    return 0
  end
  local ts = redis.call('ZREVRANGE', w.lk, 0, -1)
  for _, t in ipairs(ts) do
    if (tonumber(redis.call('HGET', w.wk, 't' .. t)) or 0) > 0 then return math.max(1, tonumber(t) + w.W - now) end
  end
  return 0
end

local function winTtl(w)
  local ttl = int(w.W * 2 + 60000)
  redis.call('PEXPIRE', w.wk, ttl)
  if w.mode == 'e' then redis.call('PEXPIRE', w.lk, ttl) end
end

local function saveBuckets(w)
  local args = { w.wk, 'T', num(w.T), 'L', int(w.L) }
  if w.fresh then
    table.insert(args, 'm'); table.insert(args, 'b')
    table.insert(args, 'W'); table.insert(args, int(w.W))
    table.insert(args, 'B'); table.insert(args, int(w.B))
  end
  for i = 1, w.B do
    if w.dirty[i] or w.fresh then table.insert(args, tostring(i)); table.insert(args, num(w.c[i])) end
  end
  redis.call('HSET', unpack(args))
  w.dirty = {}
  w.fresh = nil
end

local function winAdd(w, weight)
  if w.mode == 'b' then
    local idx = advance(w)
    local s = idx % w.B + 1
    w.c[s] = w.c[s] + weight
    w.dirty[s] = true
    w.T = w.T + weight
    saveBuckets(w)
  else
    expireLog(w)
    local f = 't' .. int(now)
    local before = tonumber(redis.call('HGET', w.wk, f)) or 0
    w.T = w.T + weight
    if w.fresh then
      redis.call('HSET', w.wk, 'm', 'e', 'W', int(w.W), 'B', int(w.B), 'T', num(w.T), f, num(before + weight))
      w.fresh = nil
    else
      redis.call('HSET', w.wk, 'T', num(w.T), f, num(before + weight))
    end
    redis.call('ZADD', w.lk, int(now), int(now))
  end
  winTtl(w)
end

local function winAdjust(w, at, delta)
  if w.mode == 'b' then
    local idx = advance(w)
    local n = w.B
    local b = math.floor(at / (w.W / n))
    if b > idx or b <= idx - n then
      if w.moved then saveBuckets(w) end
      return
    end
    local s = b % n + 1
    local before = w.c[s]
    local after = math.max(0, before + delta)
    w.c[s] = after
    w.dirty[s] = true
    w.T = w.T + after - before
    saveBuckets(w)
  else
    expireLog(w)
    local f = 't' .. int(at)
    local v = redis.call('HGET', w.wk, f)
    if not v then return end
    local before = tonumber(v)
    local after = math.max(0, before + delta)
    w.T = w.T + after - before
    redis.call('HSET', w.wk, 'T', num(w.T), f, num(after))
  end
end
`;

/** reserve: ARGV = P, now, leaseMs, id, dryRun, nCounters, nWindows, (key, amount, cap, expiresAt)*, (key, windowMs, limit, weight, buckets, mode)* */
export const RESERVE =
  PRELUDE +
  `
local leaseMs = tonumber(ARGV[3])
local id = ARGV[4]
local dry = ARGV[5] == '1'
local nc, nw = tonumber(ARGV[6]), tonumber(ARGV[7])
if not dry then expireLeases(100) end
local base = 7 + nc * 4
local wins, counts = {}, {}
for i = 1, nw do
  local o = base + (i - 1) * 6
  local key, W, limit, weight, B, mode = ARGV[o + 1], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3]), tonumber(ARGV[o + 4]), tonumber(ARGV[o + 5]), ARGV[o + 6]
  local w = loadWin(key)
  local count = 0
  if w then
    if w.mode ~= mode or w.W ~= W or w.B ~= B then return { -1, 'shape', i - 1, w.mode, int(w.W), int(w.B) } end
    count = winCount(w)
  end
  if count + weight > limit or (weight == 0 and count >= limit) then
    local need = weight
    if need == 0 then need = 1 end
    local ra
    if w then ra = winFits(w, limit, need) elseif need > limit then ra = nil else ra = 0 end
    if ra == nil then ra = '' else ra = num(ra) end
    return { 0, 'w', i - 1, num(count), ra }
  end
  wins[i] = w or newWin(key, W, B, mode)
  counts[i] = num(count + weight)
end
local holds = false
local used, held, existed = {}, {}, {}
for i = 1, nc do
  local o = 7 + (i - 1) * 4
  local key, amount, cap = ARGV[o + 1], ARGV[o + 2], ARGV[o + 3]
  if amount ~= '0' then holds = true end
  if cap ~= '' or (amount ~= '0' and not dry) then
    local st = redis.call('HMGET', P .. 'c:' .. key, 'u', 'h')
    used[i], held[i] = st[1] or '0', st[2] or '0'
    existed[i] = st[1] or st[2]
    if cap ~= '' then
      local h, l = sum3(used[i], held[i], amount)
      local ch, cl = limbs(cap)
      local c = cmp(h, l, ch, cl)
      if c > 0 or (amount == '0' and c >= 0) then return { 0, 'c', i - 1, used[i], held[i] } end
    end
  end
end
local expiresAt = now + leaseMs
local out = { 1, int(expiresAt) }
for i = 1, nw do out[i + 2] = counts[i] end
if dry then return out end
if holds then
  if id == '' then return { -1, 'noid' } end
  if redis.call('EXISTS', P .. 'r:' .. id) == 1 or redis.call('ZSCORE', LEASES, id) then return { -1, 'dupid' } end
  for i = 1, nc do
    local o = 7 + (i - 1) * 4
    if ARGV[o + 2] ~= '0' then
      local h, l = sum3(held[i], ARGV[o + 2], '0')
      if not fits64(h, l) then return { -1, 'overflow', i - 1 } end
    end
  end
end
for i = 1, nw do
  local o = base + (i - 1) * 6
  winAdd(wins[i], tonumber(ARGV[o + 4]))
end
if holds then
  local rk = P .. 'r:' .. id
  local rec = { rk }
  for i = 1, nc do
    local o = 7 + (i - 1) * 4
    local key, amount, exp = ARGV[o + 1], ARGV[o + 2], ARGV[o + 4]
    if amount ~= '0' then
      local ck = P .. 'c:' .. key
      redis.call('HINCRBY', ck, 'h', amount)
      if not existed[i] then redis.call('HSETNX', ck, 'u', '0') end
      touchTtl(ck, existed[i] and 1 or 0, exp, expiresAt)
      table.insert(rec, key); table.insert(rec, amount)
    end
  end
  redis.call('HSET', unpack(rec))
  redis.call('ZADD', LEASES, int(expiresAt), id)
end
return out
`;

/** commit: ARGV = P, now, id, nCounters, nWindows, ledgerJson ('' none), maxLen, (key, amount, expiresAt)*, (key, delta, at)* */
export const COMMIT =
  PRELUDE +
  `
local id = ARGV[3]
local nc, nw = tonumber(ARGV[4]), tonumber(ARGV[5])
local ledger, maxLen = ARGV[6], ARGV[7]
expireLeases(100)
local cur = {}
for i = 1, nc do
  local o = 7 + (i - 1) * 3
  local u = redis.call('HGET', P .. 'c:' .. ARGV[o + 1], 'u')
  cur[i] = u
  local h, l = sum3(u or '0', ARGV[o + 2], '0')
  if not fits64(h, l) then return { -1, 'overflow', i - 1 } end
end
local found = 0
local score = redis.call('ZSCORE', LEASES, id)
if score then
  if tonumber(score) > now then found = 1 end
  dropHolds(id)
end
local out = { found }
for i = 1, nc do
  local o = 7 + (i - 1) * 3
  local ck = P .. 'c:' .. ARGV[o + 1]
  local existed = redis.call('EXISTS', ck)
  redis.call('HINCRBY', ck, 'u', ARGV[o + 2])
  touchTtl(ck, existed, ARGV[o + 3], nil)
  out[i + 1] = redis.call('HGET', ck, 'u')
end
local base = 7 + nc * 3
for i = 1, nw do
  local o = base + (i - 1) * 3
  local w = loadWin(ARGV[o + 1])
  if w then winAdjust(w, tonumber(ARGV[o + 3]), tonumber(ARGV[o + 2])) end
end
if ledger ~= '' then redis.call('XADD', P .. 'ledger', 'MAXLEN', '~', maxLen, '*', 'e', ledger) end
return out
`;

/** release: ARGV = P, now, id */
export const RELEASE =
  PRELUDE +
  `
expireLeases(100)
local score = redis.call('ZSCORE', LEASES, ARGV[3])
if not score then return 0 end
dropHolds(ARGV[3])
if tonumber(score) > now then return 1 end
return 0
`;

/** add: ARGV = P, now, n, (key, amount, expiresAt)* */
export const ADD =
  PRELUDE +
  `
local n = tonumber(ARGV[3])
for i = 1, n do
  local o = 3 + (i - 1) * 3
  local u = redis.call('HGET', P .. 'c:' .. ARGV[o + 1], 'u')
  local h, l = sum3(u or '0', ARGV[o + 2], '0')
  if not fits64(h, l) then return { -1, 'overflow', i - 1 } end
end
local out = {}
for i = 1, n do
  local o = 3 + (i - 1) * 3
  local ck = P .. 'c:' .. ARGV[o + 1]
  local existed = redis.call('EXISTS', ck)
  redis.call('HINCRBY', ck, 'u', ARGV[o + 2])
  touchTtl(ck, existed, ARGV[o + 3], nil)
  out[i] = redis.call('HGET', ck, 'u')
end
return out
`;

/** read: ARGV = P, now, key* → used, held pairs */
export const READ =
  PRELUDE +
  `
expireLeases(100)
local out = {}
for i = 3, #ARGV do
  local st = redis.call('HMGET', P .. 'c:' .. ARGV[i], 'u', 'h')
  table.insert(out, st[1] or '0')
  table.insert(out, st[2] or '0')
end
return out
`;

/** readWindows: ARGV = P, now, (key, windowMs, limit, buckets, mode)* → count, retryAfterMs ('inf'), resetMs triples */
export const READ_WINDOWS =
  PRELUDE +
  `
local out = {}
local n = (#ARGV - 2) / 5
for i = 1, n do
  local o = 2 + (i - 1) * 5
  local key, W, limit, B, mode = ARGV[o + 1], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3]), tonumber(ARGV[o + 4]), ARGV[o + 5]
  local w = loadWin(key)
  if not w then
    table.insert(out, '0')
    if limit >= 1 then table.insert(out, '0') else table.insert(out, 'inf') end
    table.insert(out, '0')
  else
    if w.mode ~= mode or w.W ~= W or w.B ~= B then return { -1, 'shape', i - 1, w.mode, int(w.W), int(w.B) } end
    local count = winCount(w)
    local ra = 0
    if count + 1 > limit then ra = winFits(w, limit, 1) end
    table.insert(out, num(count))
    if ra == nil then table.insert(out, 'inf') else table.insert(out, num(ra)) end
    table.insert(out, num(winUntilEmpty(w)))
  end
end
return out
`;

/** delete: ARGV = P, now, key* → how many counters and windows existed */
export const DELETE =
  PRELUDE +
  `
local n = 0
for i = 3, #ARGV do
  n = n + redis.call('DEL', P .. 'c:' .. ARGV[i])
  n = n + redis.call('DEL', P .. 'w:' .. ARGV[i])
  redis.call('DEL', P .. 'l:' .. ARGV[i])
end
return n
`;

/** keys (one SCAN step): ARGV = P, now, cursor, pattern, count → cursor, key* */
export const SCAN_KEYS =
  PRELUDE +
  `
local r = redis.call('SCAN', ARGV[3], 'MATCH', ARGV[4], 'COUNT', ARGV[5])
local out = { r[1] }
local cut = #P + 3
for _, k in ipairs(r[2]) do table.insert(out, string.sub(k, cut)) end
return out
`;

/** appendLedger: ARGV = P, now, maxLen, json* */
export const APPEND_LEDGER =
  PRELUDE +
  `
for i = 4, #ARGV do redis.call('XADD', P .. 'ledger', 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[i]) end
return #ARGV - 3
`;

/** compareAndSet: ARGV = P, now, key, expectedVersion, value → ok, version, value */
export const COMPARE_AND_SET =
  PRELUDE +
  `
local vk = P .. 'v:' .. ARGV[3]
local cur = redis.call('HMGET', vk, 'n', 's')
local version = tonumber(cur[1]) or 0
if version ~= tonumber(ARGV[4]) then return { 0, version, cur[2] or '' } end
redis.call('HSET', vk, 'n', version + 1, 's', ARGV[5])
return { 1, version + 1, ARGV[5] }
`;

/** sweep: ARGV = P, now → leases expired */
export const SWEEP =
  PRELUDE +
  `
local total = 0
while true do
  local n = expireLeases(1000)
  total = total + n
  if n < 1000 then break end
end
return total
`;

/** Every script by name. */
export const SCRIPTS = {
  reserve: RESERVE,
  commit: COMMIT,
  release: RELEASE,
  add: ADD,
  read: READ,
  readWindows: READ_WINDOWS,
  delete: DELETE,
  scanKeys: SCAN_KEYS,
  appendLedger: APPEND_LEDGER,
  compareAndSet: COMPARE_AND_SET,
  sweep: SWEEP,
} as const;

/** A script's name. */
export type ScriptName = keyof typeof SCRIPTS;
