-- ingest: count one message for a batch of recipients.
-- KEYS[4i-3 .. 4i]  recipient i: user hash, positions zset, mentions zset, tombstones zset
-- ARGV[1]           position cap per conversation
-- ARGV[2], [3], [4] conversation id (as the recipients see it), message id, position
-- ARGV[3+2i]        recipient i: '1' if the message mentions them, else '0'
-- ARGV[4+2i]        recipient i: event channel
-- Returns the number of recipients whose unread grew.
-- Publishes one event per counted recipient: that conversation, the total, the new ver.
redis.register_function('ingest', function(keys, args)
  local cap = tonumber(args[1])
  local conv, id, pos_arg = args[2], args[3], args[4]
  local pos = tonumber(pos_arg)
  local tomb = conv .. '\n' .. id
  -- Every recipient's fields have the same names: build them once per call, not per recipient.
  local o, r, X, n, m, x, k, g, y = 'o:' .. conv, 'r:' .. conv, 'X:' .. conv, 'n:' .. conv, 'm:' .. conv,
    'x:' .. conv, 'k:' .. conv, 'g:' .. conv, 'y:' .. conv
  local counted, ms = 0, nil
  for i = 1, #keys / 4 do
    local ukey, pkey, akey, zkey = keys[4 * i - 3], keys[4 * i - 2], keys[4 * i - 1], keys[4 * i]
    local mentioned = args[3 + 2 * i] == '1'
    -- Every field this recipient's update reads, in one call; the event is built from them too.
    local f = redis.call('HMGET', ukey, o, r, X, n, m, x, 't', 'v', k, g)
    local opt = num(f[1])
    local muted = opt == 1 or (opt == 4 and not mentioned)
    -- A position at or below the overflow's highest is treated as already counted:
    -- the folded ids are gone, and counting twice is worse than missing a late arrival.
    if not muted and pos > num(f[2]) and pos > num(f[3])
        and not redis.call('ZSCORE', zkey, tomb)
        and redis.call('ZADD', pkey, 'NX', pos_arg, id) == 1 then
      local unread, ment, overflow = num(f[4]) + 1, num(f[5]), num(f[6])
      if mentioned then
        redis.call('ZADD', akey, pos_arg, id)  -- before the fold, which may pop this very id
        ment = ment + 1
      end
      if unread - overflow > cap then
        local popped = redis.call('ZPOPMIN', pkey, unread - overflow - cap)
        local high, folded_mentions = num(f[3]), num(redis.call('HGET', ukey, y))
        for j = 1, #popped, 2 do
          high = math.max(high, tonumber(popped[j + 1]))
          folded_mentions = folded_mentions + redis.call('ZREM', akey, popped[j])
        end
        redis.call('HSET', ukey, x, unread - cap, X, str(high), y, folded_mentions)
      end
      local total, ver = num(f[7]), num(f[8]) + 1
      if opt == 0 then
        total = total + 1
      end
      -- One write for the counts, the total and the version (commit() would re-read them all).
      -- Numbers go to Redis as text made once: a Lua number argument is formatted as a double (printf).
      local unread_t, ment_t, total_t = text(unread), text(ment), text(total)
      local ver_t = str(ver)
      if mentioned then
        redis.call('HSET', ukey, n, unread_t, m, ment_t, 't', total_t, 'v', ver_t)
      else
        redis.call('HSET', ukey, n, unread_t, 't', total_t, 'v', ver_t)
      end
      ms = ms or str(now_ms())
      -- One event string built straight from the texts above (publish() would format ver again).
      local view = view_json(conv, unread_t, ment_t, f[1] or '0', f[9] or '0', f[2] or '0', f[10])
      redis.call('SPUBLISH', args[4 + 2 * i], event_json(ver_t, total_t, ms, view))
      counted = counted + 1
    end
  end
  return counted
end)
