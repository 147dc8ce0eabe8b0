-- recall: remove one message from the counts of a batch of recipients.
-- KEYS[4i-3 .. 4i]  recipient i: user hash, positions zset, mentions zset, tombstones zset
-- ARGV[1]           tombstones kept per user (oldest dropped beyond it)
-- ARGV[2], [3]      conversation id (as the recipients see it), message id
-- ARGV[3+i]         recipient i: event channel
-- Returns the number of recipients for whom the message was still unread.
-- Publishes one event per such recipient. Every recipient also gets a tombstone, so a
-- later (re)delivery of the recalled message never counts.
redis.register_function('recall', function(keys, args)
  local keep = tonumber(args[1])
  local conv, id = args[2], args[3]
  local tomb = conv .. '\n' .. id
  local recalled, ms = 0, nil
  for i = 1, #keys / 4 do
    local ukey, pkey, akey, zkey = keys[4 * i - 3], keys[4 * i - 2], keys[4 * i - 1], keys[4 * i]
    ms = ms or now_ms()
    redis.call('ZADD', zkey, ms, tomb)
    local size = redis.call('ZCARD', zkey)
    if size > keep then
      redis.call('ZREMRANGEBYRANK', zkey, 0, size - keep - 1)
    end
    if redis.call('ZREM', pkey, id) == 1 then
      local f = redis.call('HMGET', ukey, 'n:' .. conv, 'm:' .. conv, 'o:' .. conv, 't')
      put_count(ukey, 'n:' .. conv, num(f[1]) - 1)
      put_count(ukey, 'm:' .. conv, num(f[2]) - redis.call('ZREM', akey, id))
      if num(f[3]) == 0 then
        redis.call('HSET', ukey, 't', num(f[4]) - 1)
      end
      commit(ukey, args[3 + i], {conv}, str(ms))
      recalled = recalled + 1
    end
  end
  return recalled
end)
