-- group_edit: add conversations to, or remove them from, a conversation group.
-- KEYS[1]    user hash
-- KEYS[2]    the group's conversation set
-- ARGV[1]    event channel
-- ARGV[2]    group name
-- ARGV[3]    most conversations per group
-- ARGV[4]    '1' to add, '0' to remove
-- ARGV[5..]  conversation ids (distinct: checked in Python)
-- Returns ver, or NOT_FOUND, or EXHAUSTED if adding would pass the per-group limit.
-- Publishes one event with the conversations that joined or left (none: no bump).
redis.register_function('group_edit', function(keys, args)
  local ukey, skey, name, adding = keys[1], keys[2], args[2], args[4] == '1'
  local size = redis.call('HGET', ukey, 'G:' .. name)
  if not size then
    return NOT_FOUND
  end
  local changed = {}
  for i = 5, #args do
    if (redis.call('SISMEMBER', skey, args[i]) == 1) ~= adding then
      changed[#changed + 1] = args[i]
    end
  end
  if adding and tonumber(size) + #changed > tonumber(args[3]) then
    return EXHAUSTED
  end
  if #changed == 0 then
    return num(redis.call('HGET', ukey, 'v'))
  end
  for _, conv in ipairs(changed) do
    if adding then
      redis.call('SADD', skey, conv)
      edit_names(ukey, conv, nil, name)
    else
      redis.call('SREM', skey, conv)
      edit_names(ukey, conv, name, nil)
    end
  end
  redis.call('HSET', ukey, 'G:' .. name, redis.call('SCARD', skey))
  return commit(ukey, args[1], changed)
end)
