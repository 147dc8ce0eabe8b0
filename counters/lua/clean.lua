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
-- where they can: one HMGET reads what every conversation needs, and one UNLINK, HSET and HDEL write
-- the result. Per conversation with unread messages one ZRANGE reads its top position; only a
-- clean below that top trims the zsets entry by entry.

-- What clean reads of each conversation, with one HMGET for all of them: a run of CLEAN_FIELDS per
-- conversation, each value at its named offset in the run (the one place their order is written).
-- Named offsets rather than unpack(): its C call per conversation cost a bulk clean ~1 % (callgrind).
local READ, UNREAD, MENT, OPT, OVERFLOW, HIGH, MARKS, GROUPS = 1, 2, 3, 4, 5, 6, 7, 8
local CLEAN_FIELDS = {
  [READ] = 'r:', [UNREAD] = 'n:', [MENT] = 'm:', [OPT] = 'o:',
  [OVERFLOW] = 'x:', [HIGH] = 'X:', [MARKS] = 'k:', [GROUPS] = 'g:',
}

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
  local ukey, channel, count, width = keys[1], args[1], (#keys - 1) / 2, #CLEAN_FIELDS
  local fields = {}
  for i = 1, count do
    local conv, at = args[2 * i], (i - 1) * width
    for j = 1, width do
      fields[at + j] = CLEAN_FIELDS[j] .. conv
    end
  end
  local values = call_in_slices('HMGET', ukey, fields)
  local cleaned, delta, views, zsets, set, drop, seen = 0, 0, {}, {}, {}, {}, {}
  for i = 1, count do
    local pkey, akey, conv, upto = keys[2 * i], keys[2 * i + 1], args[2 * i], args[2 * i + 1]
    local at = (i - 1) * width  -- its run in `fields` and `values`: at + 1 .. at + width
    -- Its values as stored: text, false when absent.
    local read_t, unread_t, ment_t = values[at + READ], values[at + UNREAD], values[at + MENT]
    local opt_t, overflow_t, high_t = values[at + OPT], values[at + OVERFLOW], values[at + HIGH]
    local marks, groups = values[at + MARKS], values[at + GROUPS]
    local read, unread, ment = num(read_t), num(unread_t), num(ment_t)
    local opt, overflow = num(opt_t), num(overflow_t)
    -- The highest unread position, folded ones included (nil: nothing unread).
    local top = unread > 0 and not seen[conv] and top_position(pkey, high_t) or nil
    local target
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
        removed, unmentioned = trim(ukey, pkey, akey, conv, upto, target, ment, overflow, num(high_t), drop)
      end
      unread, ment = unread - removed, ment - unmentioned
      set[#set + 1], set[#set + 2] = fields[at + READ], upto  -- the field names HMGET read, not built anew
      if removed > 0 then
        settle(set, drop, fields[at + UNREAD], fields[at + MENT], unread, ment, unmentioned)
      end
      if opt == 0 then
        delta = delta + removed
      end
      cleaned = cleaned + removed
      views[#views + 1] = view_json(conv, text(unread), text(ment), opt_t or '0', marks or '0', upto, groups)
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
  publish(channel, str(ver), text(total), str(now_ms()), table.concat(views, ','))
  return {cleaned, ver}
end)
