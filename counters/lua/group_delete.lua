-- group_delete: delete a conversation group of the user (its conversations stay).
-- KEYS[1]    user hash
-- KEYS[2]    the group's conversation set
-- ARGV[1]    event channel
-- ARGV[2]    group name
-- Returns ver, or NOT_FOUND. Publishes one event with the conversations that left it and the group
-- as deleted.
redis.register_function('group_delete', function(keys, args)
  local ukey, skey, channel, name = keys[1], keys[2], args[1], args[2]
  local group_field = 'G:' .. name
  if redis.call('HEXISTS', ukey, group_field) == 0 then
    return NOT_FOUND
  end
  local convs = redis.call('SMEMBERS', skey)
  edit_names(ukey, convs, name, nil)
  redis.call('UNLINK', skey)
  redis.call('HDEL', ukey, group_field)
  redis.call('HINCRBY', ukey, 'gc', -1)
  return commit(ukey, channel, convs, nil, {[name] = cjson.null})
end)
