-- group_rename: rename a conversation group of the user.
-- KEYS[1]    user hash
-- KEYS[2]    the old name's conversation set
-- KEYS[3]    the new name's conversation set
-- ARGV[1]    event channel
-- ARGV[2]    old name
-- ARGV[3]    new name (differs from the old one: checked in Python)
-- Returns ver, or NOT_FOUND (old name), CONFLICT (new name taken).
-- Publishes one event with the group's conversations (their group lists changed) and both names
-- (the old one as deleted).
redis.register_function('group_rename', function(keys, args)
  local ukey, old_key, new_key = keys[1], keys[2], keys[3]
  local channel, old, new = args[1], args[2], args[3]
  local old_field, new_field = 'G:' .. old, 'G:' .. new
  local size = redis.call('HGET', ukey, old_field)
  if not size then
    return NOT_FOUND
  end
  if redis.call('HEXISTS', ukey, new_field) == 1 then
    return CONFLICT
  end
  local convs = redis.call('SMEMBERS', old_key)
  edit_names(ukey, convs, old, new)
  if #convs > 0 then
    redis.call('RENAME', old_key, new_key)
  end
  redis.call('HDEL', ukey, old_field)
  redis.call('HSET', ukey, new_field, size)
  return commit(ukey, channel, convs, nil, {[old] = cjson.null, [new] = tonumber(size)})
end)
