-- recv_opt: set the receive option of conversations; only recv_opt 0 counts in totals.
-- KEYS[1]    user hash
-- ARGV[1]    event channel
-- ARGV[2]    recv_opt (0-4)
-- ARGV[3..]  conversation ids
-- Returns ver. Publishes one event with the conversations whose option changed
-- (none, and no version bump, when nothing changed).
redis.register_function('recv_opt', function(keys, args)
  local ukey, channel, opt = keys[1], args[1], tonumber(args[2])
  local delta, changed = 0, {}
  for i = 3, #args do  -- the conversation ids
    local conv = args[i]
    local f = redis.call('HMGET', ukey, 'o:' .. conv, 'n:' .. conv)
    local old, unread = num(f[1]), num(f[2])
    if old ~= opt then
      if old == 0 then
        delta = delta - unread
      elseif opt == 0 then
        delta = delta + unread
      end
      put_count(ukey, 'o:' .. conv, opt)
      changed[#changed + 1] = conv
    end
  end
  if #changed == 0 then
    return num(redis.call('HGET', ukey, 'v'))
  end
  if delta ~= 0 then
    redis.call('HINCRBY', ukey, 't', delta)
  end
  return commit(ukey, channel, changed)
end)
