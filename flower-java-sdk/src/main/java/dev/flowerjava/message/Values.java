package dev.flowerjava.message;

import com.google.protobuf.ByteString;
import dev.flowerjava.internal.message.ValueRecord;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/** The typed getters {@link ConfigRecord} and {@link MetricRecord} share. */
final class Values {
  private Values() {}

  /** Python's name for the kind of a normalized value, for messages. */
  static String kind(Object v) {
    if (v instanceof Long || v instanceof BigInteger) {
      return "an int";
    } else if (v instanceof Double) {
      return "a float";
    } else if (v instanceof String) {
      return "a str";
    } else if (v instanceof Boolean) {
      return "a bool";
    } else if (v instanceof ByteString) {
      return "bytes";
    } else if (v instanceof List<?> l) {
      return l.isEmpty() ? "an empty list" : "a list of " + plural(l.get(0));
    }
    return "a " + v.getClass().getSimpleName();
  }

  private static String plural(Object v) {
    String k = kind(v);
    return k.equals("bytes") ? "bytes" : k.substring(k.indexOf(' ') + 1) + "s";
  }

  static Object require(ValueRecord r, String recordKind, String key) {
    Object v = r.get(java.util.Objects.requireNonNull(key, "key"));
    if (v == null) {
      throw new IllegalArgumentException(
          recordKind + " has no key '" + key + "' (keys: " + r.keySet() + ")");
    }
    return v;
  }

  static IllegalArgumentException wrongKind(
      String recordKind, String key, Object v, String wanted) {
    return new IllegalArgumentException(
        recordKind + " value '" + key + "' is " + kind(v) + " (" + v + "), not " + wanted);
  }

  static long getLong(ValueRecord r, String recordKind, String key) {
    Object v = require(r, recordKind, key);
    if (v instanceof Long l) {
      return l;
    }
    throw wrongKind(
        recordKind, key, v, v instanceof BigInteger ? "an int that fits a long" : "an int");
  }

  static double getDouble(ValueRecord r, String recordKind, String key) {
    Object v = require(r, recordKind, key);
    if (v instanceof Double d) {
      return d;
    }
    if (v instanceof Long l) {
      return l; // an int where a float is asked for: Python code would use it as one too
    }
    throw wrongKind(recordKind, key, v, "a float");
  }

  static List<Long> getLongList(ValueRecord r, String recordKind, String key) {
    Object v = require(r, recordKind, key);
    if (v instanceof List<?> l && l.stream().allMatch(Long.class::isInstance)) {
      List<Long> out = new ArrayList<>(l.size());
      l.forEach(o -> out.add((Long) o));
      return List.copyOf(out);
    }
    throw wrongKind(recordKind, key, v, "a list of ints");
  }

  static List<Double> getDoubleList(ValueRecord r, String recordKind, String key) {
    Object v = require(r, recordKind, key);
    if (v instanceof List<?> l
        && l.stream().allMatch(o -> o instanceof Double || o instanceof Long)) {
      List<Double> out = new ArrayList<>(l.size());
      l.forEach(o -> out.add(((Number) o).doubleValue()));
      return List.copyOf(out);
    }
    throw wrongKind(recordKind, key, v, "a list of floats");
  }

  /** A value as the API hands it out: bytes as a copy of the array, lists of them too. */
  static Object exported(Object v) {
    if (v instanceof ByteString b) {
      return b.toByteArray();
    }
    if (v instanceof List<?> l && !l.isEmpty() && l.get(0) instanceof ByteString) {
      List<Object> out = new ArrayList<>(l.size());
      l.forEach(o -> out.add(((ByteString) o).toByteArray()));
      return java.util.Collections.unmodifiableList(out);
    }
    return v;
  }
}
