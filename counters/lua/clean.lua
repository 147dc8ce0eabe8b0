-- clean: mark conversations read up to a position (never backwards).
-- KEYS[1]                user hash
-- KEYS[2i], KEYS[2i+1]   conversation i: positions zset, mentions zset
-- ARGV[1]                event channel
-- ARGV[2i], ARGV[2i+1]   conversation i: id, position ('0' = everything unread now); a repeated id is
--                        cleaned once, with its first position
-- Returns {messages removed, ver}.
-- Publishes one event with every conversation whose counts or read position changed
-- (none, and no version bump, when nothing changed).
-- A bulk clean sends hundreds of conversations per call, so the Redis calls serve all of them
-- where they can: one HMGET reads what every conversation needs, and one DEL, HSET and HDEL write
-- the result. Per conversation with unread messages one ZRANGE reads its top position; only a
-- clean below that top trims the zsets entry by entry.
local CLEAN_FIELDS = {'r:', 'n:', 'm:', 'o:', 'x:', 'X:', 'k:', 'g:'}

-- A clean below the top: trim the zsets up to `upto`, and the overflow when the clean covers its
-- highest folded position. Returns the messages and the mentions removed.
local function trim(ukey, pkey, akey, conv, upto, target, ment, overflow, folded_high, drop)
  local removed = redis.call('ZREMRANGEBYSCORE', pkey, '-inf', upto)
  local unmentioned = 0
  if ment > 0 then  -- no unread mention: the mentions zset holds nothing
    unmentioned = redis.call('ZREMRANGEBYSCORE', akey, '-inf', upto)
  end
  if overflow > 0 and folded_high <= target then
    removed, unmentioned = removed + overflow, unmentioned + num(redis.call('HGET', ukey, 'y:' .. conv))
    drop[#drop + 1], drop[#drop + 2], drop[#drop + 3] = 'x:' .. conv, 'X:' .. conv, 'y:' .. conv
  end
  return removed, unmentioned
end

-- The hash writes for a conversation that lost messages: new counts, or their fields dropped at zero.
local function settle(set, drop, n_field, m_field, unread, ment, unmentioned)
  if unread > 0 then
    set[#set + 1], set[#set + 2] = n_field, unread
  else
    drop[#drop + 1] = n_field
  end
  if ment > 0 and unmentioned > 0 then
    set[#set + 1], set[#set + 2] = m_field, ment
  elseif unmentioned > 0 then
    drop[#drop + 1] = m_field
  end
end

redis.register_function('clean', function(keys, args)
  local ukey, width, count = keys[1], #CLEAN_FIELDS, (#keys - 1) / 2
  local wanted = {}
  for i = 1, count do
    local conv = args[2 * i]
    for j = 1, width do
      wanted[(i - 1) * width + j] = CLEAN_FIELDS[j] .. conv
    end
  end
  local got = call_in_slices('HMGET', ukey, wanted)
  local cleaned, delta, views, zsets, set, drop, seen = 0, 0, {}, {}, {}, {}, {}
  for i = 1, count do
    local pkey, akey, conv, at = keys[2 * i], keys[2 * i + 1], args[2 * i], (i - 1) * width
    local read, unread, ment, opt, overflow = num(got[at + 1]), num(got[at + 2]), num(got[at + 3]),
      num(got[at + 4]), num(got[at + 5])
    -- The highest unread position, folded ones included (nil: nothing unread).
    local top = unread > 0 and not seen[conv] and top_position(pkey, got[at + 6]) or nil
    local upto, target = args[2 * i + 1], nil
    if upto == '0' then
      upto, target = top and str(top) or '0', top or 0
    else
      target = tonumber(upto)
    end
    if target > read and not seen[conv] then  -- the values read above are stale for a repeated id
      seen[conv] = true
      local removed, unmentioned = 0, 0
      if top and target >= top then  -- everything unread goes, zsets and all
        removed, unmentioned = unread, ment
        zsets[#zsets + 1] = pkey
        if ment > 0 then
          zsets[#zsets + 1] = akey
        end
        if overflow > 0 then
          drop[#drop + 1], drop[#drop + 2], drop[#drop + 3] = 'x:' .. conv, 'X:' .. conv, 'y:' .. conv
        end
      elseif unread > 0 then
        removed, unmentioned = trim(ukey, pkey, akey, conv, upto, target, ment, overflow, num(got[at + 6]),
          drop)
      end
      unread, ment = unread - removed, ment - unmentioned
      set[#set + 1], set[#set + 2] = wanted[at + 1], upto  -- the field names HMGET read: 'r:', 'n:', 'm:'
      if removed > 0 then
        settle(set, drop, wanted[at + 2], wanted[at + 3], unread, ment, unmentioned)
      end
      if opt == 0 then
        delta = delta + removed
      end
      cleaned = cleaned + removed
      views[#views + 1] = view_json(conv, text(unread), text(ment), got[at + 4] or '0', got[at + 7] or '0', upto,
        got[at + 8])
    end
  end
  if #views == 0 then
    return {0, num(redis.call('HGET', ukey, 'v'))}
  end
  call_in_slices('UNLINK', nil, zsets)  -- Redis 7 frees with DEL inside the call: 100 × 10,000 positions took 0.3 s
  call_in_slices('HSET', ukey, set)
  call_in_slices('HDEL', ukey, drop)
  local total = delta > 0 and redis.call('HINCRBY', ukey, 't', -delta) or num(redis.call('HGET', ukey, 't'))
  local ver = redis.call('HINCRBY', ukey, 'v', 1)
  publish(args[1], ver, text(total), nil, views)
  return {cleaned, ver}
end)
