-- clean: mark conversations read up to a position (never backwards).
-- KEYS[1]                user hash
-- KEYS[2i], KEYS[2i+1]   conversation i: positions zset, mentions zset
-- ARGV[1]                event channel
-- ARGV[2i], ARGV[2i+1]   conversation i: id, position ('0' = everything unread now)
-- Returns {messages removed, ver}.
-- Publishes one event with every conversation whose counts or read position changed
-- (none, and no version bump, when nothing changed).
redis.register_function('clean', function(keys, args)
  local ukey = keys[1]
  local cleaned, delta, changed = 0, 0, {}
  for i = 1, (#keys - 1) / 2 do
    local pkey, akey = keys[2 * i], keys[2 * i + 1]
    local conv, target = args[2 * i], tonumber(args[2 * i + 1])
    local f = redis.call('HMGET', ukey, 'r:' .. conv, 'n:' .. conv, 'm:' .. conv,
      'o:' .. conv, 'x:' .. conv, 'X:' .. conv, 'y:' .. conv)
    local read = num(f[1])
    if target == 0 then
      local top = redis.call('ZRANGE', pkey, -1, -1, 'WITHSCORES')
      target = math.max(num(top[2]), num(f[6]))
    end
    if target > read then
      local upto = str(target)
      local removed = redis.call('ZREMRANGEBYSCORE', pkey, '-inf', upto)
      local unmentioned = redis.call('ZREMRANGEBYSCORE', akey, '-inf', upto)
      -- The overflow goes only when the clean covers the highest folded position.
      if num(f[5]) > 0 and num(f[6]) <= target then
        removed = removed + num(f[5])
        unmentioned = unmentioned + num(f[7])
        redis.call('HDEL', ukey, 'x:' .. conv, 'X:' .. conv, 'y:' .. conv)
      end
      put_count(ukey, 'n:' .. conv, num(f[2]) - removed)
      put_count(ukey, 'm:' .. conv, num(f[3]) - unmentioned)
      redis.call('HSET', ukey, 'r:' .. conv, upto)
      if num(f[4]) == 0 then
        delta = delta + removed
      end
      cleaned = cleaned + removed
      changed[#changed + 1] = conv
    end
  end
  if #changed == 0 then
    return {0, num(redis.call('HGET', ukey, 'v'))}
  end
  if delta > 0 then
    redis.call('HINCRBY', ukey, 't', -delta)
  end
  return {cleaned, commit(ukey, args[1], changed)}
end)
