package dev.flowerjava.internal.message;

import com.google.protobuf.ByteString;
import dev.flowerjava.internal.proto.fleet.BoolList;
import dev.flowerjava.internal.proto.fleet.BytesList;
import dev.flowerjava.internal.proto.fleet.ConfigRecordValue;
import dev.flowerjava.internal.proto.fleet.DoubleList;
import dev.flowerjava.internal.proto.fleet.MetricRecordValue;
import dev.flowerjava.internal.proto.fleet.SintList;
import dev.flowerjava.internal.proto.fleet.StringList;
import dev.flowerjava.internal.proto.fleet.UintList;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The values of config and metric records, normalized to one Java type per Python type so that they
 * serialize exactly as flwr's {@code record_value_dict_to_proto} does.
 *
 * <p>Python int becomes {@link Long}, or {@link BigInteger} when it exceeds {@code Long.MAX_VALUE}
 * (flwr then uses the {@code uint64} field); float becomes {@link Double}; str {@link String};
 * bytes {@link ByteString}; bool {@link Boolean}. A list is an unmodifiable {@link List} of one of
 * these; an integer list holds {@code Long}s unless one element exceeds {@code Long.MAX_VALUE},
 * then all are {@code BigInteger}s (flwr's {@code UintList}). flwr encodes an empty list as the
 * first allowed type's list: {@code BoolList} in a config record, {@code DoubleList} in a metric
 * record.
 */
public final class RecordValues {
  public static final BigInteger UINT64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);
  private static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

  private RecordValues() {}

  /** Normalizes a value; {@code config} allows bool, str and bytes too. */
  public static Object normalize(String key, Object value, boolean config) {
    if (value == null) {
      throw new IllegalArgumentException("value of '" + key + "' is null");
    }
    if (value instanceof List<?> list) {
      return normalizeList(key, list, config);
    }
    Object scalar = normalizeScalar(key, value, config);
    if (scalar == null) {
      throw new IllegalArgumentException(badType(key, value, config));
    }
    return scalar;
  }

  private static String badType(String key, Object value, boolean config) {
    return "value of '"
        + key
        + "' has type "
        + value.getClass().getName()
        + "; a "
        + (config
            ? "config record takes int, float, str, bytes, bool"
            : "metric record takes int, float")
        + " or a list of one of them";
  }

  private static Object normalizeScalar(String key, Object v, boolean config) {
    if (v instanceof Long || v instanceof Double) {
      return v;
    }
    if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
      return ((Number) v).longValue();
    }
    if (v instanceof Float f) {
      return f.doubleValue();
    }
    if (v instanceof BigInteger b) {
      if (b.signum() < 0 && b.bitLength() > 63 || b.compareTo(UINT64_MAX) > 0) {
        throw new IllegalArgumentException(
            "value of '" + key + "' (" + b + ") is outside int64 and uint64");
      }
      return b.compareTo(LONG_MAX) > 0 ? b : (Object) b.longValue();
    }
    if (config) {
      if (v instanceof Boolean || v instanceof String || v instanceof ByteString) {
        return v;
      }
      if (v instanceof byte[] bytes) {
        return ByteString.copyFrom(bytes);
      }
    }
    return null;
  }

  private static List<Object> normalizeList(String key, List<?> list, boolean config) {
    List<Object> out = new ArrayList<>(list.size());
    Class<?> kind = null;
    boolean big = false;
    for (Object element : list) {
      Object n = element == null ? null : normalizeScalar(key, element, config);
      if (n == null) {
        throw new IllegalArgumentException(
            badType(key, element == null ? "null" : element, config) + " (in a list)");
      }
      Class<?> k = n instanceof BigInteger ? Long.class : n.getClass();
      if (kind == null) {
        kind = k;
      } else if (kind != k) {
        throw new IllegalArgumentException(
            "list '"
                + key
                + "' mixes "
                + kind.getSimpleName()
                + " and "
                + k.getSimpleName()
                + "; all elements of a list must have the same type");
      }
      big |= n instanceof BigInteger;
      out.add(n);
    }
    if (big) {
      out.replaceAll(o -> o instanceof Long l ? BigInteger.valueOf(l) : o);
      for (Object o : out) {
        if (((BigInteger) o).signum() < 0) {
          throw new IllegalArgumentException(
              "list '"
                  + key
                  + "' holds a value above int64 and a negative value; flwr's"
                  + " UintList cannot hold both");
        }
      }
    }
    return Collections.unmodifiableList(out);
  }

  // ---- to proto (flwr's _record_value_to_proto) ----

  public static ConfigRecordValue toConfigProto(Object v) {
    ConfigRecordValue.Builder b = ConfigRecordValue.newBuilder();
    if (v instanceof Boolean x) {
      return b.setBool(x).build();
    } else if (v instanceof Long x) {
      return b.setSint64(x).build();
    } else if (v instanceof BigInteger x) {
      return b.setUint64(x.longValue()).build();
    } else if (v instanceof Double x) {
      return b.setDouble(x).build();
    } else if (v instanceof String x) {
      return b.setString(x).build();
    } else if (v instanceof ByteString x) {
      return b.setBytes(x).build();
    }
    List<?> list = (List<?>) v;
    if (list.isEmpty() || list.get(0) instanceof Boolean) {
      BoolList.Builder l = BoolList.newBuilder();
      list.forEach(o -> l.addVals((Boolean) o));
      return b.setBoolList(l).build();
    }
    Object first = list.get(0);
    if (first instanceof Long) {
      return b.setSintList(sintList(list)).build();
    } else if (first instanceof BigInteger) {
      return b.setUintList(uintList(list)).build();
    } else if (first instanceof Double) {
      return b.setDoubleList(doubleList(list)).build();
    } else if (first instanceof String) {
      StringList.Builder l = StringList.newBuilder();
      list.forEach(o -> l.addVals((String) o));
      return b.setStringList(l).build();
    }
    BytesList.Builder l = BytesList.newBuilder();
    list.forEach(o -> l.addVals((ByteString) o));
    return b.setBytesList(l).build();
  }

  public static MetricRecordValue toMetricProto(Object v) {
    MetricRecordValue.Builder b = MetricRecordValue.newBuilder();
    if (v instanceof Long x) {
      return b.setSint64(x).build();
    } else if (v instanceof BigInteger x) {
      return b.setUint64(x.longValue()).build();
    } else if (v instanceof Double x) {
      return b.setDouble(x).build();
    }
    List<?> list = (List<?>) v;
    if (list.isEmpty() || list.get(0) instanceof Double) {
      return b.setDoubleList(doubleList(list)).build();
    } else if (list.get(0) instanceof Long) {
      return b.setSintList(sintList(list)).build();
    }
    return b.setUintList(uintList(list)).build();
  }

  private static SintList sintList(List<?> list) {
    SintList.Builder l = SintList.newBuilder();
    list.forEach(o -> l.addVals((Long) o));
    return l.build();
  }

  private static UintList uintList(List<?> list) {
    UintList.Builder l = UintList.newBuilder();
    list.forEach(o -> l.addVals(((BigInteger) o).longValue()));
    return l.build();
  }

  private static DoubleList doubleList(List<?> list) {
    DoubleList.Builder l = DoubleList.newBuilder();
    list.forEach(o -> l.addVals((Double) o));
    return l.build();
  }

  // ---- from proto (flwr's _record_value_from_proto) ----

  public static Object fromConfigProto(String key, ConfigRecordValue v) {
    switch (v.getValueCase()) {
      case DOUBLE:
        return v.getDouble();
      case SINT64:
        return v.getSint64();
      case UINT64:
        return unsigned(v.getUint64());
      case BOOL:
        return v.getBool();
      case STRING:
        return v.getString();
      case BYTES:
        return v.getBytes();
      case DOUBLE_LIST:
        return List.copyOf(v.getDoubleList().getValsList());
      case SINT_LIST:
        return List.copyOf(v.getSintList().getValsList());
      case UINT_LIST:
        return unsignedList(v.getUintList().getValsList());
      case BOOL_LIST:
        return List.copyOf(v.getBoolList().getValsList());
      case STRING_LIST:
        return List.copyOf(v.getStringList().getValsList());
      case BYTES_LIST:
        return List.copyOf(v.getBytesList().getValsList());
      default:
        throw new IllegalArgumentException("config value '" + key + "' has no value set");
    }
  }

  public static Object fromMetricProto(String key, MetricRecordValue v) {
    switch (v.getValueCase()) {
      case DOUBLE:
        return v.getDouble();
      case SINT64:
        return v.getSint64();
      case UINT64:
        return unsigned(v.getUint64());
      case DOUBLE_LIST:
        return List.copyOf(v.getDoubleList().getValsList());
      case SINT_LIST:
        return List.copyOf(v.getSintList().getValsList());
      case UINT_LIST:
        return unsignedList(v.getUintList().getValsList());
      default:
        throw new IllegalArgumentException("metric value '" + key + "' has no value set");
    }
  }

  private static Object unsigned(long v) {
    return v >= 0 ? (Object) v : new BigInteger(Long.toUnsignedString(v));
  }

  private static List<Object> unsignedList(List<Long> vals) {
    boolean big = vals.stream().anyMatch(v -> v < 0);
    List<Object> out = new ArrayList<>(vals.size());
    for (long v : vals) {
      out.add(big ? new BigInteger(Long.toUnsignedString(v)) : (Object) v);
    }
    return Collections.unmodifiableList(out);
  }
}
