-- recall: remove one message from the counts of a batch of recipients.
-- KEYS[4i-3 .. 4i]  recipient i: user hash, positions zset, mentions zset, tombstones zset
-- ARGV[1]           tombstones kept per user (oldest dropped beyond it)
-- ARGV[2], [3]      conversation id (as the recipients see it), message id
-- ARGV[3+i]         recipient i: event channel
-- Returns the number of recipients for whom the message was still unread.
-- Publishes one event per such recipient. Every recipient also gets a tombstone, so a
-- later (re)delivery of the recalled message never counts.
redis.register_function('recall', function(keys, args)
  local keep, conv, id = tonumber(args[1]), args[2], args[3]
  local tomb = conv .. '\n' .. id
  local unread_field, ment_field, opt_field = 'n:' .. conv, 'm:' .. conv, 'o:' .. conv
  local recalled, ms = 0, nil
  for i = 1, #keys / 4 do
    local ukey, pkey, akey, zkey = keys[4 * i - 3], keys[4 * i - 2], keys[4 * i - 1], keys[4 * i]
    local channel = args[3 + i]
    ms = ms or now_ms()
    redis.call('ZADD', zkey, ms, tomb)
    local size = redis.call('ZCARD', zkey)
    if size > keep then
      redis.call('ZREMRANGEBYRANK', zkey, 0, size - keep - 1)
    end
    if redis.call('ZREM', pkey, id) == 1 then
      local f = redis.call('HMGET', ukey, unread_field, ment_field, opt_field, 't')
      local unread, ment, opt, total = num(f[1]), num(f[2]), num(f[3]), num(f[4])
      put_count(ukey, unread_field, unread - 1)
      put_count(ukey, ment_field, ment - redis.call('ZREM', akey, id))
      if opt == 0 then
        redis.call('HSET', ukey, 't', total - 1)
      end
      commit(ukey, channel, {conv}, str(ms))
      recalled = recalled + 1
    end
  end
  return recalled
end)
