-- group_create: create a conversation group of the user.
-- KEYS[1]    user hash
-- KEYS[2]    the group's conversation set
-- ARGV[1]    event channel
-- ARGV[2]    group name
-- ARGV[3]    most groups per user
-- ARGV[4..]  conversation ids (distinct, at most the per-group limit: checked in Python)
-- Returns ver, or CONFLICT if the name exists, EXHAUSTED at the group limit.
-- Publishes one event with the conversations put in the group and the group's size.
redis.register_function('group_create', function(keys, args)
  local ukey, skey = keys[1], keys[2]
  local channel, name, max_groups = args[1], args[2], tonumber(args[3])
  local group_field = 'G:' .. name
  if redis.call('HEXISTS', ukey, group_field) == 1 then
    return CONFLICT
  end
  if num(redis.call('HGET', ukey, 'gc')) >= max_groups then
    return EXHAUSTED
  end
  local convs = {unpack(args, 4)}  -- at most the per-group limit (1000), within unpack's bounds
  call_in_slices('SADD', skey, convs)
  edit_names(ukey, convs, nil, name)
  redis.call('HSET', ukey, group_field, #convs)
  redis.call('HINCRBY', ukey, 'gc', 1)
  return commit(ukey, channel, convs, nil, {[name] = #convs})
end)
