-- group_delete: delete a conversation group of the user (its conversations stay).
-- KEYS[1]    user hash
-- KEYS[2]    the group's conversation set
-- ARGV[1]    event channel
-- ARGV[2]    group name
-- Returns ver, or NOT_FOUND. Publishes one event with the conversations that left it and the group
-- as deleted.
redis.register_function('group_delete', function(keys, args)
  local ukey, skey, name = keys[1], keys[2], args[2]
  if redis.call('HEXISTS', ukey, 'G:' .. name) == 0 then
    return NOT_FOUND
  end
  local convs = redis.call('SMEMBERS', skey)
  edit_names(ukey, convs, name, nil)
  redis.call('UNLINK', skey)
  redis.call('HDEL', ukey, 'G:' .. name)
  redis.call('HINCRBY', ukey, 'gc', -1)
  return commit(ukey, args[1], convs, nil, {[name] = cjson.null})
end)
