/**
 * The Lua of {@link RedisStore}: one script, `batch`, that runs a list of Store operations in
 * order, each atomic (a script runs alone on the server). The store sends the operations of
 * concurrent callers together, so many guarded calls share one round trip and one script
 * call. The script gets the key prefix (with its `{hash tag}`) as ARGV[1] and, per operation,
 * `now` ('' = the Redis server's `TIME`); it declares one key of that slot for routing and
 * builds the other key names from the prefix: they all hash to the same slot.
 *
 * Money: counters are signed 64-bit integers kept in Redis as decimal strings. Lua numbers are
 * doubles, exact only to 2^53, so a value is held as a Lua number only while below 1e15 (sums
 * of three stay below 2^53); beyond, it stays a string and is added or compared on two exact
 * limbs (value = hi * 1e9 + lo), each well inside 2^53. Window weights stay doubles.
 *
 * Speed: a script's cost is mostly its `redis.call`s (each a few µs), so a batch reads every
 * counter, window and reservation it needs once, keeps them in Lua tables while its
 * operations run, and writes each changed one back once at the end (see "the batch cache").
 *
 * Key layout under prefix P = `{tag}:`:
 * - `P c:<key>`  counter: hash { u = used, h = held, x = when its TTL runs out (store clock; absent: no TTL) }
 * - `P w:<key>`  window: hash { m = 'b'|'e', W = windowMs, B = buckets, T = total, L = last bucket index, 1..B = bucket counts }
 *                (exact windows keep `t<ms>` = weight of the hits at that ms instead of buckets)
 * - `P l:<key>`  exact window's hit times: sorted set (member = score = ms)
 * - `P res`      live reservations: hash { <id> = '<lease end>|' .. ('<#key>:<key><amount>|')* }
 * - `P leases`   sorted set of live reservation ids by lease end
 * - `P v:<key>`  versioned value: hash { n = version, s = value }
 * - `P ledger`   stream of ledger entries (field `e` = JSON), capped with MAXLEN ~
 */

// Per batch: the prefix and the keys of leases and reservations (upvalues of the helpers).
const SETUP = `
if redis.replicate_commands then redis.replicate_commands() end
floor, sub, call, sfmt = math.floor, string.sub, redis.call, string.format
P = ARGV[1]
LEASES = P .. 'leases'
RES = P .. 'res'
`;

// Constants and helpers, shared by every script (and built once in the function library).
const HELPERS = `
local LB = 1000000000
local RETRY = {}
local MAXH, MAXL = 9223372036, 854775807
local MINH, MINL = -9223372037, 145224192

-- A number as a string that reads back exactly. Integers below 1e14 are formatted with %d,
-- about twice as fast as tostring (%.14g) and as exact.
local function num(x)
  if x == floor(x) and x > -1e14 and x < 1e14 then
    if x == 0 then return '0' end
    return sfmt('%d', x)
  end
  return sfmt('%.17g', x)
end

-- A signed decimal integer string as exact limbs: value = hi * 1e9 + lo, 0 <= lo < 1e9.
local function limbs(s)
  local neg = sub(s, 1, 1) == '-'
  if neg then s = sub(s, 2) end
  local n = #s
  local hi, lo
  if n <= 9 then hi = 0; lo = tonumber(s) else hi = tonumber(sub(s, 1, n - 9)); lo = tonumber(sub(s, n - 8)) end
  if neg then
    hi = -hi; lo = -lo
    if lo < 0 then lo = lo + LB; hi = hi - 1 end
  end
  return hi, lo
end

local function cmp(h1, l1, h2, l2)
  if h1 ~= h2 then if h1 < h2 then return -1 else return 1 end end
  if l1 ~= l2 then if l1 < l2 then return -1 else return 1 end end
  return 0
end

local function pad9(lo)
  local s = tostring(lo)
  return string.rep('0', 9 - #s) .. s
end

-- Exact limbs back to a decimal string.
local function fmt(hi, lo)
  if hi >= 0 then
    if hi == 0 then return tostring(lo) end
    return tostring(hi) .. pad9(lo)
  end
  if lo == 0 then return tostring(hi) .. '000000000' end
  local mh, ml = -hi - 1, LB - lo
  if mh == 0 then return '-' .. tostring(ml) end
  return '-' .. tostring(mh) .. pad9(ml)
end

-- Exact a + sign * b of decimal integer strings; nil when outside signed 64-bit. Short
-- operands (|x| < 1e14) are added as doubles, exact far below 2^53.
local function addDec(a, b, sign)
  if #a < 15 and #b < 15 then
    local r = tonumber(a) + sign * tonumber(b)
    if r > -1e14 and r < 1e14 then
      if r == 0 then return '0' end
      return sfmt('%d', r)
    end
  end
  local h1, l1 = limbs(a)
  local h2, l2 = limbs(b)
  local hi, lo = h1 + sign * h2, l1 + sign * l2
  local carry = floor(lo / LB)
  hi, lo = hi + carry, lo - carry * LB
  if cmp(hi, lo, MAXH, MAXL) > 0 or cmp(hi, lo, MINH, MINL) < 0 then return nil end
  return fmt(hi, lo)
end

-- Compare u + h + a with cap, exactly: -1, 0, 1.
local function cmpCap(u, h, a, cap)
  if #u < 15 and #h < 15 and #a < 15 and #cap < 16 then
    local s, c = tonumber(u) + tonumber(h) + tonumber(a), tonumber(cap)
    if s < c then return -1 elseif s > c then return 1 else return 0 end
  end
  local h1, l1 = limbs(u)
  local h2, l2 = limbs(h)
  local h3, l3 = limbs(a)
  local hi, lo = h1 + h2 + h3, l1 + l2 + l3
  local carry = floor(lo / LB)
  local ch, cl = limbs(cap)
  return cmp(hi + carry, lo - carry * LB, ch, cl)
end

-- Counter values in the batch cache are Lua numbers while |v| < 1e15 (sums of three stay below
-- 2^53, exact) and decimal strings beyond; these helpers take either and keep that form.
local function n15(x)
  if type(x) == 'string' and #x < 16 then return tonumber(x) end
  return x
end

local function str(x)
  if type(x) == 'number' then return num(x) end
  return x
end

-- a + sign * b exactly; nil when outside signed 64-bit.
local function add(a, b, sign)
  a, b = n15(a), n15(b)
  if type(a) == 'number' and type(b) == 'number' then
    local r = a + sign * b
    if r < 1e15 and r > -1e15 then return r end
  end
  return n15(addDec(str(a), str(b), sign))
end

-- Compare u + h + a with cap exactly: -1, 0, 1. cap is a decimal string; capN its value when
-- below 2^53 in magnitude (exact as a double), capBig true when it is 1e16 or more. Operands
-- below 1e15 sum below 3e15, exactly, so those two cases need no limbs.
local function capCmp(u, h, a, cap, capN, capBig)
  u, h = n15(u), n15(h)
  if type(u) == 'number' and type(h) == 'number' and type(a) == 'number' then
    if capN then
      local s = u + h + a
      if s < capN then return -1 elseif s > capN then return 1 else return 0 end
    end
    if capBig then return -1 end
  end
  return cmpCap(str(u), str(h), str(a), cap)
end

-- A value for a reply: integers below 1e15 as Lua numbers (Redis sends them as integers, no
-- number-to-string conversion), anything else as the exact decimal string.
local function rnum(x)
  if type(x) == 'number' and x == floor(x) and x < 1e15 and x > -1e15 then return x end
  return str(x)
end

-- Below zero becomes 0 (a hold never goes negative).
local function pos(x)
  if x == nil then return 0 end
  if type(x) == 'number' then if x < 0 then return 0 end return x end
  if sub(x, 1, 1) == '-' then return 0 end
  return x
end

-- A counter's TTL. Field x is the store-clock time its TTL runs to (absent: no TTL, kept for
-- good; in the batch cache a number or false; exp is expiresAt as a number, nil for none). A counter lives until max(expiresAt, the end of a lease holding it), at least 60 s;
-- one created without expiresAt is kept for good, as in MemoryStore. Returns the new TTL in
-- ms when it must grow, else nil (the caller writes x = now + ttl, then PEXPIREs). Growth for
-- a hold adds slack (one more lease), so a busy counter is not re-expired on every call.
local function ttlFor(existed, x, exp, holdEnd, slack)
  local want = exp or -1
  local extra = 0
  if holdEnd ~= nil and holdEnd > want then want = holdEnd; extra = slack end
  if want < 0 then return nil end
  if existed then
    if not x or want <= x then return nil end
  elseif not exp then
    return nil
  end
  local ttl = want - now
  if ttl < 60000 then ttl = 60000 end
  return ttl + extra
end

-- ---- the batch cache ----------------------------------------------------------------------
-- A batch runs many operations in one script. Counters, bucketed windows and reservation
-- records are read from Redis once per batch, changed in Lua tables, and written back once at
-- the end (flush), so the cost of a batch is mostly Lua work, not one redis.call per field per
-- operation. Operations stay atomic (a script runs alone) and see each other's changes in
-- order; each checks everything before it changes anything, so a refusal writes nothing.

local CC, CW, CR, RSET, RDEL, RP

local function resetCache()
  CC, CW, CR, RSET, RDEL, RP = {}, {}, {}, {}, {}, {}
end

-- Scratch tables of reserve and commit (each fills what it reads before reading it).
local ST, NU, WS = {}, {}, {}

-- A counter's state: { ck, u, h (false: no field), x (false: no TTL), existed, dirty, pexp }
-- (pexp: the TTL grew, so x changed and is written back with a PEXPIRE).
-- ck, when given, is the key's Redis name (a template has it built).
local function cnt(key, ck)
  local s = CC[key]
  if s == nil then
    ck = ck or P .. 'c:' .. key
    local r = call('HMGET', ck, 'u', 'h', 'x')
    s = { ck = ck, u = n15(r[1] or '0'), h = r[2] and n15(r[2]), x = tonumber(r[3]) or false, existed = (r[1] or r[2]) and true or false }
    CC[key] = s
  end
  return s
end

-- Drop one hold from a counter (a counter deleted meanwhile is skipped; never below 0).
local function dropHold(key, amount)
  local s = cnt(key)
  local h = s.h
  if not h then return end
  if type(h) == 'number' and type(amount) == 'number' then
    h = h - amount
    if h < 0 then h = 0 end
    s.h = h
  else
    s.h = pos(add(h, amount, -1))
  end
  s.dirty = true
end

-- A reservation: field <id> of hash RES = '<lease end>|' .. ('<#key>:<key><amount>|')*, and
-- member <id> of the sorted set LEASES scored by its lease end.
local function getRec(id)
  local r = CR[id]
  if r == nil then
    r = call('HGET', RES, id)
    CR[id] = r
  end
  return r
end

-- Prefetch the records of many ids with one HMGET.
local function prefetch(ids)
  if #ids == 0 then return end
  local r = call('HMGET', RES, unpack(ids))
  for i, id in ipairs(ids) do CR[id] = r[i] end
end

-- The parsed holds of records, by their text after the lease end: the reservations of one
-- kind hold the same, so a busy process's records are parsed once and kept (like templates,
-- across calls in the function library; what is kept depends on the text alone), up to HMAX.
local HP, HPN, HMAX = {}, 0, 512

-- Returns a reservation's lease end (nil when absent), the keys it holds and the amounts (two
-- lists, shared: read only). A record is parsed once per batch: the reservations of one kind
-- made in one batch share one record string (Lua strings are interned, so the lookup is by
-- pointer).
local function loadRes(id)
  local r = getRec(id)
  if not r then return nil, nil, nil end
  local p = RP[r]
  if p == nil then
    local find = string.find
    local bar = find(r, '|', 1, true)
    local hs = sub(r, bar + 1)
    local h = HP[hs]
    if h == nil then
      local ks, as = {}, {}
      local i, n = 1, #hs
      while i <= n do
        local colon = find(hs, ':', i, true)
        local klen = tonumber(sub(hs, i, colon - 1))
        local kend = colon + klen
        local e = find(hs, '|', kend + 1, true)
        ks[#ks + 1] = sub(hs, colon + 1, kend)
        as[#as + 1] = n15(sub(hs, kend + 1, e - 1))
        i = e + 1
      end
      h = { ks, as }
      if HPN >= HMAX then HP, HPN = {}, 0 end
      HP[hs] = h
      HPN = HPN + 1
    end
    p = { tonumber(sub(r, 1, bar - 1)), h[1], h[2] }
    RP[r] = p
  end
  return p[1], p[2], p[3]
end

local function dropHolds(ks, as)
  for j = 1, #ks do dropHold(ks[j], as[j]) end
end

local function putRes(id, ends, rec)
  CR[id] = rec
  RSET[id] = ends
  RDEL[id] = nil
end

local function forgetRes(id)
  CR[id] = false
  RSET[id] = nil
  RDEL[id] = true
end

local function flushLeases()
  local id, ends = next(RSET)
  if id ~= nil then
    if next(RSET, id) == nil then
      call('HSET', RES, id, CR[id])
      call('ZADD', LEASES, ends, id)
    else
      local hset, zadd = { RES }, { LEASES }
      for id, ends in pairs(RSET) do
        hset[#hset + 1] = id; hset[#hset + 1] = CR[id]
        zadd[#zadd + 1] = ends; zadd[#zadd + 1] = id
      end
      call('HSET', unpack(hset))
      call('ZADD', unpack(zadd))
    end
    RSET = {}
  end
  id = next(RDEL)
  if id ~= nil then
    if next(RDEL, id) == nil then
      call('HDEL', RES, id)
      call('ZREM', LEASES, id)
    else
      local hdel = { RES }
      for id in pairs(RDEL) do hdel[#hdel + 1] = id end
      call('HDEL', unpack(hdel))
      hdel[1] = LEASES
      call('ZREM', unpack(hdel))
    end
    RDEL = {}
  end
end

-- Return the amounts of leases that ended at or before now (a bounded batch per call).
local function expireLeases(limit)
  flushLeases()
  local due = call('ZRANGEBYSCORE', LEASES, '-inf', now, 'LIMIT', 0, limit)
  for _, id in ipairs(due) do
    local _, ks, as = loadRes(id)
    if ks then dropHolds(ks, as) end
    forgetRes(id)
  end
  flushLeases()
  return #due
end

-- ---- windows -----------------------------------------------------------------------------

-- Bucket numbers as field names, formatted once (a number argument of redis.call costs a %.17g).
local SL = {}
local function slot(i)
  local f = SL[i]
  if f == nil then
    f = sfmt('%d', i)
    SL[i] = f
  end
  return f
end

-- Load a window (nil when absent). Bucketed counts are read lazily into w.c: given the
-- expected shape (W, B), one HMGET reads the meta fields and the bucket of now, which is all
-- an admission needs while the window stays in its current bucket; buckets that expire when
-- it moves on are read then, and every bucket only when a refusal or a read needs them all.
local function loadWin(key, W, B, wk)
  wk = wk or P .. 'w:' .. key
  local s = 'L'
  if B then s = floor(now / (W / B)) % B + 1 end
  local m = call('HMGET', wk, 'm', 'W', 'B', 'T', 'L', B and slot(s) or s)
  if not m[1] then return nil end
  local w = { key = key, wk = wk, mode = m[1], W = tonumber(m[2]), B = tonumber(m[3]), T = tonumber(m[4]), dirty = {}, c = {} }
  if w.mode == 'b' then
    w.L = tonumber(m[5])
    if B and w.B == B and w.W == W then w.c[s] = tonumber(m[6]) or 0 end
  else
    w.lk = P .. 'l:' .. key
  end
  return w
end

-- Read the bucket counts of the slots not read yet.
local function needSlots(w, slots)
  local args, which = { w.wk }, {}
  for _, s in ipairs(slots) do
    if w.c[s] == nil then args[#args + 1] = slot(s); which[#which + 1] = s end
  end
  if #which == 0 then return end
  local r = call('HMGET', unpack(args))
  for i, s in ipairs(which) do w.c[s] = tonumber(r[i]) or 0 end
end

local function loadAll(w)
  if w.full then return end
  local all = {}
  for i = 1, w.B do all[i] = i end
  needSlots(w, all)
  w.full = true
end

local function newWin(key, W, B, mode)
  local w = { key = key, wk = P .. 'w:' .. key, mode = mode, W = W, B = B, T = 0, dirty = {}, fresh = true, full = true }
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
  -- The ops of a batch mostly share one now: once a window has moved to it, nothing to do.
  if w.advAt == now then return w.advIdx end
  local idx = floor(now / (w.W / w.B))
  w.advAt, w.advIdx = now, idx
  if idx > w.L then
    local n = w.B
    if w.L < 0 or idx - w.L >= n then
      loadAll(w)
      for i = 1, n do
        if w.c[i] ~= 0 then w.c[i] = 0; w.dirty[i] = true end
      end
      w.T = 0
    else
      local slots = {}
      for b = w.L + 1, idx do slots[#slots + 1] = b % n + 1 end
      needSlots(w, slots)
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
  local gone = call('ZRANGEBYSCORE', w.lk, '-inf', cutoff)
  if #gone > 0 then
    for _, t in ipairs(gone) do
      local f = 't' .. t
      w.T = w.T - (tonumber(call('HGET', w.wk, f)) or 0)
      call('HDEL', w.wk, f)
    end
    call('ZREMRANGEBYSCORE', w.lk, '-inf', cutoff)
    if call('ZCARD', w.lk) == 0 then w.T = 0 end
    call('HSET', w.wk, 'T', w.T)
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
    loadAll(w)
    local n = w.B
    local bms = w.W / n
    local idx = w.L
    for b = idx - n + 1, idx do
      count = count - w.c[b % n + 1]
      if count + weight <= limit then return math.max(1, (b + n) * bms - now) end
    end
    return math.max(1, (idx + n) * bms - now)
  end
  local ts = call('ZRANGE', w.lk, 0, -1)
  for _, t in ipairs(ts) do
    count = count - (tonumber(call('HGET', w.wk, 't' .. t)) or 0)
    if count + weight <= limit then return math.max(1, tonumber(t) + w.W - now) end
  end
  return math.max(1, tonumber(ts[#ts]) + w.W - now)
end

local function winUntilEmpty(w)
  local count = winCount(w)
  if count <= 0 then return 0 end
  if w.mode == 'b' then
    loadAll(w)
    local n = w.B
    local bms = w.W / n
    for b = w.L, w.L - n + 1, -1 do
      if w.c[b % n + 1] > 0 then return math.max(1, (b + n) * bms - now) end
    end
    return 0
  end
  local ts = call('ZREVRANGE', w.lk, 0, -1)
  for _, t in ipairs(ts) do
    if (tonumber(call('HGET', w.wk, 't' .. t)) or 0) > 0 then return math.max(1, tonumber(t) + w.W - now) end
  end
  return 0
end

-- A window key lives 2 * W + 60 s after the start of its newest bucket's first hit (so at
-- least W + 60 s after its last hit): set when the window is created or moves to a new bucket.
local function saveBuckets(w)
  local args = { w.wk, 'T', num(w.T) }
  local n = 3
  if w.fresh or w.moved then args[4], args[5] = 'L', num(w.L); n = 5 end
  if w.fresh then
    args[6], args[7], args[8], args[9], args[10], args[11] = 'm', 'b', 'W', w.W, 'B', w.B
    n = 11
  end
  for i = 1, w.B do
    if w.dirty[i] or w.fresh then args[n + 1] = slot(i); args[n + 2] = num(w.c[i]); n = n + 2 end
  end
  call('HSET', unpack(args))
  if w.fresh or w.moved then call('PEXPIRE', w.wk, w.W * 2 + 60000) end
  w.dirty = {}
  w.fresh = nil
  w.moved = nil
end

-- A bucketed window changed by an operation: kept in the batch cache and saved at the flush.
local function touch(w)
  CW[w.key] = w
  w.pend = true
end

-- A window through the batch cache (bucketed ones; an exact window's log is read each time).
local function cwin(key, W, B, wk)
  local w = CW[key]
  if w then
    if w.slotAt ~= now then
      local s = floor(now / (w.W / w.B)) % w.B + 1
      if w.c[s] == nil then needSlots(w, { s }) end
      w.slotAt = now
    end
    return w
  end
  w = loadWin(key, W, B, wk)
  if w and w.mode == 'b' then CW[key] = w end
  return w
end

-- Write back what the batch changed.
local function flush()
  for _, s in pairs(CC) do
    if s.dirty then
      -- x changes only with a PEXPIRE (pexp); a counter that had no field h keeps none.
      local ck, u, h = s.ck, str(s.u), s.h
      if s.pexp then
        if h then call('HSET', ck, 'u', u, 'h', str(h), 'x', num(s.x)) else call('HSET', ck, 'u', u, 'x', num(s.x)) end
        call('PEXPIRE', ck, s.pexp)
      elseif h then
        call('HSET', ck, 'u', u, 'h', str(h))
      else
        call('HSET', ck, 'u', u)
      end
      s.dirty, s.pexp = nil, nil
    end
  end
  for _, w in pairs(CW) do
    if w.pend then saveBuckets(w); w.pend = nil end
  end
  flushLeases()
end

local function winAdd(w, weight)
  if w.mode == 'b' then
    local idx = advance(w)
    local s = idx % w.B + 1
    w.c[s] = w.c[s] + weight
    w.dirty[s] = true
    w.T = w.T + weight
    touch(w)
  else
    expireLog(w)
    local f = 't' .. num(now)
    local before = tonumber(call('HGET', w.wk, f)) or 0
    w.T = w.T + weight
    if w.fresh then
      call('HSET', w.wk, 'm', 'e', 'W', w.W, 'B', w.B, 'T', w.T, f, before + weight)
      w.fresh = nil
    else
      call('HSET', w.wk, 'T', w.T, f, before + weight)
    end
    call('ZADD', w.lk, now, now)
    local ttl = w.W * 2 + 60000
    call('PEXPIRE', w.wk, ttl)
    call('PEXPIRE', w.lk, ttl)
  end
end

local function winAdjust(w, at, delta)
  if w.mode == 'b' then
    local idx = advance(w)
    local n = w.B
    local b = floor(at / (w.W / n))
    if b > idx or b <= idx - n then
      if w.moved then touch(w) end
      return
    end
    local s = b % n + 1
    needSlots(w, { s })
    local before = w.c[s]
    local after = math.max(0, before + delta)
    w.c[s] = after
    w.dirty[s] = true
    w.T = w.T + after - before
    touch(w)
  else
    expireLog(w)
    local f = 't' .. num(at)
    local v = call('HGET', w.wk, f)
    if not v then return end
    local before = tonumber(v)
    local after = math.max(0, before + delta)
    w.T = w.T + after - before
    call('HSET', w.wk, 'T', w.T, f, after)
  end
end

-- ---- reserve and commit: templates --------------------------------------------------------
-- The ops of one batch mostly repeat the same request (the same limits of the same scopes),
-- differing only in their reservation id. So a reserve's or commit's arguments other than the
-- id (and a commit's ledger entry) are a template: one argument, its fields each written
-- '<byte length>:<field>', sent once per batch; each operation names its template by number.
-- A template is parsed (numbers converted, caps classified, key names built) the first time it
-- is seen and kept in TC by prefix, kind and text: in the function library TC lives as long as
-- the library, so the calls of a busy process mostly find their templates parsed (under EVAL it
-- lasts one call). What is kept depends only on the text and the prefix, never on data, so it
-- cannot go stale. Each kind is dropped whole past TMAX templates of it, which bounds its memory:
-- commits that report their usage (or adjust a window) mostly make one-use templates, and they
-- must not push out the reserve templates that are used again and again.

local TPL, PARSE = {}, {}
local TC, TMAX = {}, 512
local TCN = { reserve = 0, commit = 0 }

-- A template's fields.
local function fields(s)
  local a, i, n, find = {}, 1, #s, string.find
  while i <= n do
    local c = find(s, ':', i, true)
    local len = tonumber(sub(s, i, c - 1))
    a[#a + 1] = sub(s, c + 1, c + len)
    i = c + len + 1
  end
  return a
end

-- reserve template: leaseMs, dryRun, nCounters, nWindows, (key, amount, cap, expiresAt)*,
-- (key, windowMs, limit, weight, buckets, mode)*. holdStr is the reservation record's list of
-- holds, '<#key>:<key><amount>|' for each counter with an amount.
PARSE.reserve = function(a)
  local nc, nw = tonumber(a[3]), tonumber(a[4])
  local T = { leaseMs = tonumber(a[1]), dry = a[2] == '1', nc = nc, nw = nw, holds = false,
    ck = {}, ckF = {}, ca = {}, cz = {}, cap = {}, capN = {}, capBig = {}, cx = {}, wk = {}, wkF = {}, wW = {}, wL = {}, wG = {}, wB = {}, wM = {} }
  local hs = {}
  for i = 1, nc do
    local p = 4 + (i - 1) * 4
    local key, amt, cap = a[p + 1], a[p + 2], a[p + 3]
    T.ck[i], T.ckF[i], T.ca[i], T.cz[i], T.cx[i] = key, P .. 'c:' .. key, n15(amt), amt == '0', tonumber(a[p + 4])
    if amt ~= '0' then
      T.holds = true
      hs[#hs + 1] = #key .. ':' .. key .. amt .. '|'
    end
    if cap == '' then
      T.cap[i] = false
    else
      local v = tonumber(cap)
      T.cap[i] = cap
      T.capN[i] = v > -9007199254740992 and v < 9007199254740992 and v
      T.capBig[i] = #cap > 16 and sub(cap, 1, 1) ~= '-'
    end
  end
  T.holdStr = table.concat(hs)
  for i = 1, nw do
    local p = 4 + nc * 4 + (i - 1) * 6
    local key = a[p + 1]
    T.wk[i], T.wkF[i], T.wW[i], T.wL[i], T.wG[i], T.wB[i], T.wM[i] = key, P .. 'w:' .. key, tonumber(a[p + 2]), tonumber(a[p + 3]), tonumber(a[p + 4]), tonumber(a[p + 5]), a[p + 6]
  end
  return T
end

-- commit template: nCounters, nWindows, maxLen, (key, amount, expiresAt)*, (key, delta, at)*
PARSE.commit = function(a)
  local nc, nw = tonumber(a[1]), tonumber(a[2])
  local T = { nc = nc, nw = nw, maxLen = a[3], dup = false, ck = {}, ckF = {}, ca = {}, cx = {}, wk = {}, wkF = {}, wd = {}, wa = {} }
  local seen = {}
  for i = 1, nc do
    local p = 3 + (i - 1) * 3
    local key = a[p + 1]
    if seen[key] then T.dup = true end
    seen[key] = true
    T.ck[i], T.ckF[i], T.ca[i], T.cx[i] = key, P .. 'c:' .. key, n15(a[p + 2]), tonumber(a[p + 3])
  end
  for i = 1, nw do
    local p = 3 + nc * 3 + (i - 1) * 3
    local key = a[p + 1]
    T.wk[i], T.wkF[i], T.wd[i], T.wa[i] = key, P .. 'w:' .. key, tonumber(a[p + 2]), tonumber(a[p + 3])
  end
  return T
end

-- The parsed template of a kind ('reserve', 'commit') and text, from TC or parsed now.
local function template(kind, s)
  local byP = TC[P]
  if byP == nil then
    byP = { reserve = {}, commit = {} }
    TC[P] = byP
  end
  local c = byP[kind]
  local T = c[s]
  if T == nil then
    T = PARSE[kind](fields(s))
    if TCN[kind] >= TMAX then
      -- This kind's templates go, for every prefix; a prefix left with none of either kind goes too.
      local keep = {}
      for p, t in pairs(TC) do
        t[kind] = {}
        if p == P or next(t.reserve) ~= nil or next(t.commit) ~= nil then keep[p] = t end
      end
      TC, TCN[kind] = keep, 0
      c = byP[kind]
    end
    c[s] = T
    TCN[kind] = TCN[kind] + 1
  end
  return T
end

-- Expired leases are returned lazily: only a refused counter or a taken id can depend on them
-- (holds only ever make a cap tighter), so the first attempt skips the sweep and an attempt
-- that would refuse sweeps and runs again. Nothing is written before that point.
local function reserveTry(T, id, swept)
  local nc, nw = T.nc, T.nw
  local out = { 1, 0 }
  for i = 1, nw do
    local key, W, limit, weight, B, mode = T.wk[i], T.wW[i], T.wL[i], T.wG[i], T.wB[i], T.wM[i]
    local w
    -- CW holds bucketed windows only: one made earlier in this batch refuses an exact reserve's shape.
    if mode == 'b' then w = cwin(key, W, B, T.wkF[i]) else w = CW[key] or loadWin(key) end
    local count = 0
    if w then
      if w.mode ~= mode or w.W ~= W or w.B ~= B then return { -1, 'shape', i - 1, w.mode, num(w.W), num(w.B) } end
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
    WS[i] = w or newWin(key, W, B, mode)
    out[i + 2] = rnum(count + weight)
  end
  local dry = T.dry
  local cz, cap = T.cz, T.cap
  for i = 1, nc do
    if cap[i] or (not cz[i] and not dry) then
      local s = cnt(T.ck[i], T.ckF[i])
      ST[i] = s
      if cap[i] then
        -- The common case inline: every operand a number below 1e15, the cap exact as a double.
        local u, h, a, capN = s.u, s.h or 0, T.ca[i], T.capN[i]
        local c
        if capN and type(u) == 'number' and type(h) == 'number' and type(a) == 'number' then
          local sum = u + h + a
          if sum < capN then c = -1 elseif sum > capN then c = 1 else c = 0 end
        else
          c = capCmp(u, h, a, cap[i], capN, T.capBig[i])
        end
        if c > 0 or (cz[i] and c >= 0) then
          if not swept then return RETRY end
          return { 0, 'c', i - 1, str(s.u), str(s.h or 0) }
        end
      end
    end
  end
  local expiresAt = now + T.leaseMs
  out[2] = expiresAt
  if dry then return out end
  local holds = T.holds
  if holds then
    if id == '' then return { -1, 'noid' } end
    for i = 1, nc do
      if not cz[i] then
        local h, a = ST[i].h or 0, T.ca[i]
        local v
        if type(h) == 'number' and type(a) == 'number' and h + a < 1e15 and h + a > -1e15 then v = h + a else v = add(h, a, 1) end
        if v == nil then return { -1, 'overflow', i - 1 } end
        NU[i] = v
      end
    end
    -- A live id is refused before anything changes.
    if getRec(id) then
      if not swept then return RETRY end
      return { -1, 'dupid' }
    end
  end
  for i = 1, nw do
    local w = WS[i]
    if w.mode == 'b' and w.advAt == now then
      -- winAdd inline for a bucketed window already moved to now (the common case in a batch).
      local sl = w.advIdx % w.B + 1
      local g = T.wG[i]
      w.c[sl] = w.c[sl] + g
      w.dirty[sl] = true
      w.T = w.T + g
      CW[w.key] = w
      w.pend = true
    else
      winAdd(w, T.wG[i])
    end
  end
  if holds then
    local leaseMs = T.leaseMs
    for i = 1, nc do
      if not cz[i] then
        local s = ST[i]
        -- ttlFor in short: a counter whose TTL already runs past this lease and expiresAt keeps it.
        local x, exp = s.x, T.cx[i]
        if not (s.existed and x and expiresAt <= x and (not exp or exp <= x)) then
          local ttl = ttlFor(s.existed, x, exp, expiresAt, leaseMs)
          if ttl then s.x = now + ttl; s.pexp = ttl end
        end
        s.h = NU[i]
        s.existed = true
        s.dirty = true
      end
    end
    -- The record (and the lease end as a string, the ZADD score) are built once per lease end.
    if T.recAt ~= expiresAt then
      T.recAt, T.recEnd = expiresAt, num(expiresAt)
      T.rec = T.recEnd .. '|' .. T.holdStr
    end
    putRes(id, T.recEnd, T.rec)
  end
  return out
end

local function commitOp(T, id, ledger)
  local nc, nw = T.nc, T.nw
  local ck, ca, ckF = T.ck, T.ca, T.ckF
  local run = T.dup and {} or nil
  for i = 1, nc do
    local key = ck[i]
    local s = cnt(key, ckF[i])
    ST[i] = s
    local base, a = s.u, ca[i]
    if run and run[key] ~= nil then base = run[key] end
    local v
    if type(base) == 'number' and type(a) == 'number' and base + a < 1e15 and base + a > -1e15 then v = base + a else v = add(base, a, 1) end
    if v == nil then return { -1, 'overflow', i - 1 } end
    NU[i] = v
    if run then run[key] = v end
  end
  -- Everything that can fail (reads of the windows, the ledger append) comes before the first
  -- change to the batch cache, so a commit Redis refuses changes nothing there.
  for i = 1, nw do WS[i] = cwin(T.wk[i], nil, nil, T.wkF[i]) end
  if ledger ~= '' then call('XADD', P .. 'ledger', 'MAXLEN', '~', T.maxLen, '*', 'e', ledger) end
  local ends, ks, as = loadRes(id)
  local found = 0
  if ends then
    if ends > now then found = 1 end
    forgetRes(id)
  end
  local out = { found }
  for i = 1, nc do
    local s = ST[i]
    -- Without expiresAt a commit never grows a TTL.
    local exp = T.cx[i]
    if exp then
      local ttl = ttlFor(s.existed, s.x, exp, nil, 0)
      if ttl then s.x = now + ttl; s.pexp = ttl end
    end
    s.u = NU[i]
    s.existed = true
    s.dirty = true
    -- A number here is a whole number below 1e15, so rnum would return it as it is.
    out[i + 1] = NU[i]
  end
  -- Each hold comes off its counter (a counter deleted meanwhile is skipped).
  if ks then dropHolds(ks, as) end
  for i = 1, nw do
    local w = WS[i]
    if w then winAdjust(w, T.wa[i], T.wd[i]) end
  end
  return out
end
`;

/** reserve: ARGV = P, now, template (a number, see PARSE.reserve), id */
const RESERVE_BODY = `
local T, id = TPL[tonumber(ARGV[3])], ARGV[4]
local r = reserveTry(T, id, false)
if r == RETRY then
  expireLeases(100)
  r = reserveTry(T, id, true)
end
return r
`;

/** commit: ARGV = P, now, template (a number, see PARSE.commit), id, ledgerJson ('' none) */
const COMMIT_BODY = `
return commitOp(TPL[tonumber(ARGV[3])], ARGV[4], ARGV[5])
`;

/** release: ARGV = P, now, id */
const RELEASE_BODY = `
expireLeases(100)
local ends, ks, as = loadRes(ARGV[3])
if not ends then return 0 end
dropHolds(ks, as)
forgetRes(ARGV[3])
if ends > now then return 1 end
return 0
`;

/** add: ARGV = P, now, n, (key, amount, expiresAt)* */
const ADD_BODY = `
local n = tonumber(ARGV[3])
local st, newU, run = {}, {}, {}
for i = 1, n do
  local key = ARGV[3 + (i - 1) * 3 + 1]
  local s = cnt(key)
  st[i] = s
  newU[i] = add(run[key] or s.u, ARGV[3 + (i - 1) * 3 + 2], 1)
  if newU[i] == nil then return { -1, 'overflow', i - 1 } end
  run[key] = newU[i]
end
for i = 1, n do
  local s = st[i]
  local ttl = ttlFor(s.existed, s.x, tonumber(ARGV[3 + (i - 1) * 3 + 3]), nil, 0)
  s.u = newU[i]
  if ttl then s.x = now + ttl; s.pexp = ttl end
  s.existed = true
  s.dirty = true
end
for i = 1, n do newU[i] = str(newU[i]) end
return newU
`;

/** read: ARGV = P, now, key* → used, held pairs */
const READ_BODY = `
expireLeases(100)
local out = {}
for i = 3, #ARGV do
  local s = cnt(ARGV[i])
  out[#out + 1] = str(s.u)
  out[#out + 1] = str(s.h or 0)
end
return out
`;

/** getValue: ARGV = P, now, key → version, value (nil when absent) */
const GET_VALUE_BODY = `
return call('HMGET', P .. 'v:' .. ARGV[3], 'n', 's')
`;

/** xrange: ARGV = P, now, start, count → ledger stream entries */
const XRANGE_BODY = `
return call('XRANGE', P .. 'ledger', ARGV[3], '+', 'COUNT', ARGV[4])
`;

/** readWindows: ARGV = P, now, (key, windowMs, limit, buckets, mode)* → count, retryAfterMs ('inf'), resetMs triples */
const READ_WINDOWS_BODY = `
local out = {}
local n = (#ARGV - 2) / 5
for i = 1, n do
  local o = 2 + (i - 1) * 5
  local key, W, limit, B, mode = ARGV[o + 1], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3]), tonumber(ARGV[o + 4]), ARGV[o + 5]
  local w
  if mode == 'b' then w = loadWin(key, W, B) else w = loadWin(key) end
  if not w then
    table.insert(out, '0')
    if limit >= 1 then table.insert(out, '0') else table.insert(out, 'inf') end
    table.insert(out, '0')
  else
    if w.mode ~= mode or w.W ~= W or w.B ~= B then return { -1, 'shape', i - 1, w.mode, num(w.W), num(w.B) } end
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
const DELETE_BODY = `
local n = 0
for i = 3, #ARGV do
  n = n + redis.call('DEL', P .. 'c:' .. ARGV[i])
  n = n + redis.call('DEL', P .. 'w:' .. ARGV[i])
  redis.call('DEL', P .. 'l:' .. ARGV[i])
end
return n
`;

/** keys (one SCAN step): ARGV = P, now, cursor, pattern, count → cursor, key* */
const SCAN_KEYS_BODY = `
local r = redis.call('SCAN', ARGV[3], 'MATCH', ARGV[4], 'COUNT', ARGV[5])
local out = { r[1] }
local cut = #P + 3
for _, k in ipairs(r[2]) do table.insert(out, string.sub(k, cut)) end
return out
`;

/** appendLedger: ARGV = P, now, maxLen, json* */
const APPEND_LEDGER_BODY = `
for i = 4, #ARGV do redis.call('XADD', P .. 'ledger', 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[i]) end
return #ARGV - 3
`;

/** compareAndSet: ARGV = P, now, key, expectedVersion, value → ok, version, value */
const COMPARE_AND_SET_BODY = `
local vk = P .. 'v:' .. ARGV[3]
local cur = redis.call('HMGET', vk, 'n', 's')
local version = tonumber(cur[1]) or 0
if version ~= tonumber(ARGV[4]) then return { 0, version, cur[2] or '' } end
redis.call('HSET', vk, 'n', version + 1, 's', ARGV[5])
return { 1, version + 1, ARGV[5] }
`;

/** sweep: ARGV = P, now → leases expired */
const SWEEP_BODY = `
local total = 0
while true do
  local n = expireLeases(1000)
  total = total + n
  if n < 1000 then break end
end
return total
`;

/** The body of every operation by name (after the helpers). */
const BODIES = {
  reserve: RESERVE_BODY,
  commit: COMMIT_BODY,
  release: RELEASE_BODY,
  add: ADD_BODY,
  read: READ_BODY,
  readWindows: READ_WINDOWS_BODY,
  delete: DELETE_BODY,
  scanKeys: SCAN_KEYS_BODY,
  appendLedger: APPEND_LEDGER_BODY,
  compareAndSet: COMPARE_AND_SET_BODY,
  sweep: SWEEP_BODY,
  getValue: GET_VALUE_BODY,
  xrange: XRANGE_BODY,
} as const;

/** An operation of a batch. */
export type OpName = keyof typeof BODIES;

/**
 * The operations as Lua functions of one table, and those that see Redis itself rather than the
 * batch cache. A body is written against its own ARGV (P, now, its arguments); it runs on the
 * batch's ARGV at offset O (its arguments end at NA), so no table is built per operation.
 */
const OPS = `
local OPS = {}
${Object.entries(BODIES)
  .map(([k, b]) => `OPS.${k} = function()\n${b.replace(/ARGV\[/g, 'ARGV[O + ').replace(/#ARGV/g, '(NA - O)')}\nend\n`)
  .join('')}
local DIRECT = { readWindows = true, delete = true, scanKeys = true }
`;

/**
 * batch: ARGV = P, the number of templates, each template (op name, its fields as one string:
 * see PARSE and template), then per operation: name, now ('' = the server's TIME, read once per batch), n, n
 * arguments (a reserve's and a commit's start with their template's number); or, for a reserve
 * or commit on the server's time, the short form 'R', template, id or 'C', template, id,
 * ledger entry. Runs the operations in order, each atomic, then writes back what the
 * batch cache holds. Returns one reply per operation. An operation Redis refuses (pcall: say
 * `WRONGTYPE` on a foreign key under the prefix) answers { '!err', message } and the others go
 * on; reserve and commit do everything that can fail before they change the cache, so such an
 * operation leaves no change behind (as with any Redis script, a direct write it made before
 * the error stays: an exact window's log, for instance).
 */
const BATCH = `
TPL = {}
local i, N = 3, #ARGV
for t = 1, tonumber(ARGV[2]) do
  TPL[t] = template(ARGV[i], ARGV[i + 1])
  i = i + 2
end
local first, ids, nops = i, {}, 0
while i <= N do
  nops = nops + 1
  local name = ARGV[i]
  if name == 'R' then
    local id = ARGV[i + 2]
    if id ~= '' then ids[#ids + 1] = id end
    i = i + 3
  elseif name == 'C' then
    ids[#ids + 1] = ARGV[i + 2]
    i = i + 4
  else
    if name == 'reserve' then
      local id = ARGV[i + 4]
      if id ~= '' then ids[#ids + 1] = id end
    elseif name == 'commit' then
      ids[#ids + 1] = ARGV[i + 4]
    elseif name == 'release' then
      ids[#ids + 1] = ARGV[i + 3]
    end
    i = i + 3 + tonumber(ARGV[i + 2])
  end
end
resetCache()
-- One operation reads its reservation itself: no HMGET of one id first.
if nops > 1 then prefetch(ids) end
local out, serverNow = {}, nil
i = first
while i <= N do
  local name = ARGV[i]
  local t, op, step
  if name == 'R' or name == 'C' then
    -- The short form: the server's time, no count; O is set so the body's ARGV[3] is the template.
    t, O = '', i - 2
    if name == 'R' then op, step = OPS.reserve, 3 else op, step = OPS.commit, 4 end
  else
    local n = tonumber(ARGV[i + 2])
    t, O, NA, op, step = ARGV[i + 1], i, i + 2 + n, OPS[name], 3 + n
  end
  if t == '' then
    if serverNow == nil then
      local tm = call('TIME')
      serverNow = tonumber(tm[1]) * 1000 + floor(tonumber(tm[2]) / 1000)
    end
    now = serverNow
  else
    now = tonumber(t)
  end
  local direct = DIRECT[name]
  if direct then flush() end
  local ok, r = pcall(op)
  if direct then resetCache() end
  if ok then
    out[#out + 1] = r
  else
    if type(r) == 'table' then r = r.err end
    out[#out + 1] = { '!err', tostring(r) }
  end
  i = i + step
end
flush()
return out
`;

/** The locals every part shares (in the function library they live as long as the library). */
const LOCALS = 'local ARGV, O, NA, P, now, LEASES, RES, floor, sub, call, sfmt';

/** The batch as one EVAL script (servers without Functions): the helpers are built on every call. */
export const SCRIPTS = { batch: `${LOCALS} = ARGV\n${HELPERS}${OPS}${SETUP}${BATCH}` } as const;

/** A script's name. */
export type ScriptName = keyof typeof SCRIPTS;

/**
 * The same batch as one Redis Functions library (Redis 7+, `FUNCTION LOAD`): the helpers and
 * operations are built once when the library loads instead of on every call, which is most of
 * a small script's cost. Library and function names carry a hash of the source, so versions of
 * this package that share a server each find their own.
 */
export function functionLibrary(hash: string): {
  readonly name: string;
  readonly code: string;
  readonly functions: Record<ScriptName, string>;
} {
  const tag = hash.slice(0, 12);
  const name = `agent_governor_${tag}`;
  const fn = `ag_${tag}_batch`;
  const code = `#!lua name=${name}\n${LOCALS}\n${HELPERS}${OPS}redis.register_function('${fn}', function(_, argv)\nARGV = argv\n${SETUP}${BATCH}end)\n`;
  return { name, code, functions: { batch: fn } };
}
