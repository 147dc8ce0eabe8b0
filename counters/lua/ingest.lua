-- ingest: count one message for a batch of recipients.
-- KEYS[4i-3 .. 4i]  recipient i: user hash, positions zset, mentions zset, tombstones zset
-- ARGV[1]           position cap per conversation
-- ARGV[2], [3], [4] conversation id (as the recipients see it), message id, position
-- ARGV[3+2i]        recipient i: '1' if the message mentions them, else '0'
-- ARGV[4+2i]        recipient i: event channel
-- Returns the number of recipients whose unread grew.
-- Publishes one event per counted recipient: that conversation, the total, the new ver.
redis.register_function('ingest', function(keys, args)
  local cap, conv, id, pos_arg = tonumber(args[1]), args[2], args[3], args[4]
  local pos, tomb = tonumber(pos_arg), conv .. '\n' .. id
  -- Every recipient's fields have the same names: built once per call, not per recipient.
  local opt_field, read_field, unread_field = 'o:' .. conv, 'r:' .. conv, 'n:' .. conv
  local ment_field, marks_field, groups_field = 'm:' .. conv, 'k:' .. conv, 'g:' .. conv
  local overflow_field, high_field, folded_ment_field = 'x:' .. conv, 'X:' .. conv, 'y:' .. conv
  local counted, ms = 0, nil
  for i = 1, #keys / 4 do
    local ukey, pkey, akey, zkey = keys[4 * i - 3], keys[4 * i - 2], keys[4 * i - 1], keys[4 * i]
    local mentioned, channel = args[3 + 2 * i] == '1', args[4 + 2 * i]
    -- Every field this recipient's update reads, in one call, bound to names at once (not by unpack():
    -- a C call per recipient). As stored: text, false when absent; `x_t` is the stored text of `x`.
    local f = redis.call('HMGET', ukey, opt_field, read_field, high_field, unread_field, ment_field,
      overflow_field, 't', 'v', marks_field, groups_field)
    local opt_t, read_t, high_t, unread_t, ment_t, overflow_t, total_t, ver_t, marks, groups =
      f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10]
    local opt = num(opt_t)
    local muted = opt == 1 or (opt == 4 and not mentioned)
    -- A position at or below the overflow's highest is treated as already counted:
    -- the folded ids are gone, and counting twice is worse than missing a late arrival.
    if not muted and pos > num(read_t) and pos > num(high_t)
        and not redis.call('ZSCORE', zkey, tomb)
        and redis.call('ZADD', pkey, 'NX', pos_arg, id) == 1 then
      local unread, ment, overflow = num(unread_t) + 1, num(ment_t), num(overflow_t)
      if mentioned then
        redis.call('ZADD', akey, pos_arg, id)  -- before the fold, which may pop this very id
        ment = ment + 1
      end
      if unread - overflow > cap then
        local popped = redis.call('ZPOPMIN', pkey, unread - overflow - cap)
        local high, folded_mentions = num(high_t), num(redis.call('HGET', ukey, folded_ment_field))
        for j = 1, #popped, 2 do  -- id, position, id, position, ...
          high = math.max(high, tonumber(popped[j + 1]))
          folded_mentions = folded_mentions + redis.call('ZREM', akey, popped[j])
        end
        redis.call('HSET', ukey, overflow_field, unread - cap, high_field, str(high), folded_ment_field,
          folded_mentions)
      end
      local total, ver = num(total_t), num(ver_t) + 1
      if opt == 0 then
        total = total + 1
      end
      -- One write for the counts, the total and the version (commit() would re-read them all).
      -- The new values go to Redis as text made once: a Lua number argument is formatted as a double
      -- (printf). The event is built from the same texts.
      local new_unread, new_ment, new_total, new_ver = text(unread), text(ment), text(total), str(ver)
      if mentioned then
        redis.call('HSET', ukey, unread_field, new_unread, ment_field, new_ment, 't', new_total, 'v', new_ver)
      else
        redis.call('HSET', ukey, unread_field, new_unread, 't', new_total, 'v', new_ver)
      end
      ms = ms or str(now_ms())
      publish(channel, new_ver, new_total, ms,
        view_json(conv, new_unread, new_ment, opt_t or '0', marks or '0', read_t or '0', groups))
      counted = counted + 1
    end
  end
  return counted
end)
