-- mark: set or clear mark bits on conversations. Marks never change counts.
-- KEYS[1]    user hash
-- ARGV[1]    event channel
-- ARGV[2]    the bits, 16 hex digits (a 64-bit mask: Lua bit ops work on 32-bit halves)
-- ARGV[3]    '1' to set the bits, '0' to clear them
-- ARGV[4..]  conversation ids
-- Returns ver. Publishes one event with the conversations whose marks changed.
redis.register_function('mark', function(keys, args)
  local ukey, bits, enable = keys[1], args[2], args[3] == '1'
  local bhi, blo = tonumber(bits:sub(1, 8), 16), tonumber(bits:sub(9, 16), 16)
  local changed = {}
  for i = 4, #args do
    local conv = args[i]
    local old = redis.call('HGET', ukey, 'k:' .. conv) or '0000000000000000'
    local hi, lo = tonumber(old:sub(1, 8), 16), tonumber(old:sub(9, 16), 16)
    if enable then
      hi, lo = bit.bor(hi, bhi), bit.bor(lo, blo)
    else
      hi, lo = bit.band(hi, bit.bnot(bhi)), bit.band(lo, bit.bnot(blo))
    end
    local new = bit.tohex(hi, 8) .. bit.tohex(lo, 8)
    if new ~= old then
      if new == '0000000000000000' then
        redis.call('HDEL', ukey, 'k:' .. conv)
      else
        redis.call('HSET', ukey, 'k:' .. conv, new)
      end
      changed[#changed + 1] = conv
    end
  end
  if #changed == 0 then
    return num(redis.call('HGET', ukey, 'v'))
  end
  return commit(ukey, args[1], changed)
end)
