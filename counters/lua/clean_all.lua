-- clean_all: mark read everything unread in the conversations of one kind, one slice per call.
-- KEYS[1]   user hash
-- ARGV[1]   event channel
-- ARGV[2]   positions zset key prefix (the conversation id completes it; same slot as KEYS[1])
-- ARGV[3]   mentions zset key prefix (likewise)
-- ARGV[4]   HSCAN cursor of the user hash ('0' to start)
-- ARGV[5]   conversation kind: 'c2c_', 'group_' or '' (every kind)
-- ARGV[6]   fields to scan in this call (bounds its length)
-- Returns {next cursor ('0' when done), messages removed, ver}.
-- Publishes one event with the conversations this slice cleaned (none, and no version bump,
-- when it held none).
-- The zset keys are found by the scan, so they cannot be declared; they share KEYS[1]'s hash
-- tag, which is what a cluster checks. Per conversation this costs one HMGET and one ZRANGE;
-- the writes of the whole slice are one DEL, one HSET and one HDEL.
redis.register_function('clean_all', function(keys, args)
  local ukey, pprefix, aprefix = keys[1], args[2], args[3]
  local scan = redis.call('HSCAN', ukey, args[4], 'MATCH', 'n:' .. args[5] .. '*', 'COUNT', args[6])
  local found = scan[2]
  local cleaned, delta, views, zsets, set, drop = 0, 0, {}, {}, {}, {}
  for i = 1, #found, 2 do
    local conv, unread = string.sub(found[i], 3), tonumber(found[i + 1])
    local f = redis.call('HMGET', ukey, 'r:' .. conv, 'm:' .. conv, 'o:' .. conv, 'x:' .. conv,
      'X:' .. conv, 'k:' .. conv, 'g:' .. conv)
    local pkey = pprefix .. conv
    local top = redis.call('ZRANGE', pkey, -1, -1, 'WITHSCORES')
    local target = math.max(num(top[2]), num(f[5]))
    if target > num(f[1]) then  -- always, while unread > 0 (every counted position is above read)
      local upto = str(target)
      zsets[#zsets + 1] = pkey
      drop[#drop + 1] = 'n:' .. conv
      if num(f[2]) > 0 then
        zsets[#zsets + 1] = aprefix .. conv
        drop[#drop + 1] = 'm:' .. conv
      end
      if num(f[4]) > 0 then
        drop[#drop + 1], drop[#drop + 2], drop[#drop + 3] = 'x:' .. conv, 'X:' .. conv, 'y:' .. conv
      end
      set[#set + 1], set[#set + 2] = 'r:' .. conv, upto
      if num(f[3]) == 0 then
        delta = delta + unread
      end
      cleaned = cleaned + unread
      views[#views + 1] = {conv, 0, 0, num(f[3]), f[6] or '0', upto, f[7] or ''}
    end
  end
  if #views == 0 then
    return {scan[1], 0, num(redis.call('HGET', ukey, 'v'))}
  end
  -- Everything up to the top position goes, so the counts drop to zero with their zsets.
  call_in_slices('DEL', nil, zsets)
  call_in_slices('HSET', ukey, set)
  call_in_slices('HDEL', ukey, drop)
  local total = delta > 0 and redis.call('HINCRBY', ukey, 't', -delta) or num(redis.call('HGET', ukey, 't'))
  local ver = redis.call('HINCRBY', ukey, 'v', 1)
  publish(args[1], ver, total, nil, views)
  return {scan[1], cleaned, ver}
end)
