-- mark: set or clear mark bits on conversations. Marks never change counts.
-- KEYS[1]    user hash
-- ARGV[1]    event channel
-- ARGV[2]    the bits, 16 hex digits (a 64-bit mask: Lua bit ops work on 32-bit halves)
-- ARGV[3]    '1' to set the bits, '0' to clear them
-- ARGV[4..]  conversation ids
-- Returns ver. Publishes one event with the conversations whose marks changed.
local NO_MARKS = '0000000000000000'

-- Marks as their two 32-bit halves (high, low), the widest Lua's bit ops take.
local function halves(hex)
  return tonumber(hex:sub(1, 8), 16), tonumber(hex:sub(9, 16), 16)
end

redis.register_function('mark', function(keys, args)
  local ukey, channel, enable = keys[1], args[1], args[3] == '1'
  local bits_hi, bits_lo = halves(args[2])
  local changed = {}
  for i = 4, #args do  -- the conversation ids
    local conv = args[i]
    local field = 'k:' .. conv
    local old = redis.call('HGET', ukey, field) or NO_MARKS
    local hi, lo = halves(old)
    if enable then
      hi, lo = bit.bor(hi, bits_hi), bit.bor(lo, bits_lo)
    else
      hi, lo = bit.band(hi, bit.bnot(bits_hi)), bit.band(lo, bit.bnot(bits_lo))
    end
    local new = bit.tohex(hi, 8) .. bit.tohex(lo, 8)
    if new ~= old then
      if new == NO_MARKS then
        redis.call('HDEL', ukey, field)
      else
        redis.call('HSET', ukey, field, new)
      end
      changed[#changed + 1] = conv
    end
  end
  if #changed == 0 then
    return num(redis.call('HGET', ukey, 'v'))
  end
  return commit(ukey, channel, changed)
end)
