-- chat_group: create or update a group chat and its membership (the IM backend's view).
-- KEYS[1]    group hash (type)
-- KEYS[2]    members set
-- KEYS[3]    reached set (every user a recall must visit)
-- ARGV[1]    group type to set, or '' to require that the group exists
-- ARGV[2]    number of members to add (n), then ARGV[3 .. 2+n] members to add, the rest to remove
-- Returns {type, member count}, or NOT_FOUND (no such group), or CONFLICT (the type of a group
-- never changes, as in Tencent Cloud IM). Publishes nothing: no user's counts change.
redis.register_function('chat_group', function(keys, args)
  local gkey, mkey, rkey = keys[1], keys[2], keys[3]
  local kind, adds = args[1], tonumber(args[2])
  local current = redis.call('HGET', gkey, 'type')
  if kind == '' then
    if not current then
      return NOT_FOUND
    end
  elseif current and current ~= kind then
    return CONFLICT
  elseif not current then
    redis.call('HSET', gkey, 'type', kind)
  end
  for i = 3, 2 + adds do  -- the members to add
    redis.call('SADD', mkey, args[i])
    redis.call('SADD', rkey, args[i])
  end
  for i = 3 + adds, #args do  -- the members to remove
    redis.call('SREM', mkey, args[i])
  end
  return {current or kind, redis.call('SCARD', mkey)}
end)
