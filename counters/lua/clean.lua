-- clean: mark conversations read up to a position (never backwards).
-- KEYS[1]                user hash
-- KEYS[2i], KEYS[2i+1]   conversation i: positions zset, mentions zset
-- ARGV[1]                event channel
-- ARGV[2i], ARGV[2i+1]   conversation i: id, position ('0' = everything unread now)
-- Returns {messages removed, ver}.
-- Publishes one event with every conversation whose counts or read position changed
-- (none, and no version bump, when nothing changed).
-- A bulk clean sends hundreds of conversations per call: each costs one read, at most
-- three zset calls and two hash writes, and the event is built from values already known.
redis.register_function('clean', function(keys, args)
  local ukey = keys[1]
  local cleaned, delta, views = 0, 0, {}
  for i = 1, (#keys - 1) / 2 do
    local pkey, akey = keys[2 * i], keys[2 * i + 1]
    local conv, target = args[2 * i], tonumber(args[2 * i + 1])
    local f = redis.call('HMGET', ukey, 'r:' .. conv, 'n:' .. conv, 'm:' .. conv,
      'o:' .. conv, 'x:' .. conv, 'X:' .. conv, 'y:' .. conv, 'k:' .. conv, 'g:' .. conv)
    local read = num(f[1])
    if target == 0 then
      local top = redis.call('ZRANGE', pkey, -1, -1, 'WITHSCORES')
      target = math.max(num(top[2]), num(f[6]))
    end
    if target > read then
      local upto = str(target)
      local removed = redis.call('ZREMRANGEBYSCORE', pkey, '-inf', upto)
      local unmentioned = 0
      if num(f[3]) > 0 then  -- no unread mention: the mentions zset holds nothing
        unmentioned = redis.call('ZREMRANGEBYSCORE', akey, '-inf', upto)
      end
      local drop = {}
      -- The overflow goes only when the clean covers the highest folded position.
      if num(f[5]) > 0 and num(f[6]) <= target then
        removed = removed + num(f[5])
        unmentioned = unmentioned + num(f[7])
        drop = {'x:' .. conv, 'X:' .. conv, 'y:' .. conv}
      end
      local unread, ment = num(f[2]) - removed, num(f[3]) - unmentioned
      local set = {'r:' .. conv, upto}
      for _, pair in ipairs({{'n:' .. conv, unread}, {'m:' .. conv, ment}}) do
        if pair[2] > 0 then
          set[#set + 1], set[#set + 2] = pair[1], pair[2]
        else
          drop[#drop + 1] = pair[1]
        end
      end
      redis.call('HSET', ukey, unpack(set))
      if #drop > 0 then
        redis.call('HDEL', ukey, unpack(drop))
      end
      if num(f[4]) == 0 then
        delta = delta + removed
      end
      cleaned = cleaned + removed
      views[#views + 1] = {conv, unread, ment, num(f[4]), f[8] or '0', upto, f[9] or ''}
    end
  end
  if #views == 0 then
    return {0, num(redis.call('HGET', ukey, 'v'))}
  end
  local total = delta > 0 and redis.call('HINCRBY', ukey, 't', -delta) or num(redis.call('HGET', ukey, 't'))
  local ver = redis.call('HINCRBY', ukey, 'v', 1)
  publish(args[1], ver, total, nil, views)
  return {cleaned, ver}
end)
