package dev.flowerjava.internal.messageapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code --node-config} as flower-supernode reads it (flwr's parse_config_args: TOML values). */
class NodeConfigParserTest {

  @Test
  void valuesAreTypedAsTomlTypesThem() {
    Map<String, Object> expected = new LinkedHashMap<>();
    expected.put("partition-id", 0L);
    expected.put("num-partitions", 2L);
    expected.put("lr", 0.05);
    expected.put("big", 1_000_000L);
    expected.put("mask", 31L);
    expected.put("tiny", 1e-3);
    expected.put("on", true);
    expected.put("name", "node a");
    expected.put("raw", "a\\b");
    expected.put("esc", "tab\there");
    expected.put("data.path", "/tmp/x");
    expected.put("neg", -4L);
    assertEquals(
        expected,
        NodeConfigParser.parse(
                "partition-id=0 num-partitions=2 lr=0.05 big=1_000_000 mask=0x1f tiny=1e-3"
                    + " on=true name=\"node a\" raw='a\\b' esc=\"tab\\there\""
                    + "  data.path=\"/tmp/x\" neg=-4")
            .asMap());
  }

  @Test
  void anEmptySpecIsAnEmptyConfigAndALaterKeyWins() {
    assertEquals(Map.of(), NodeConfigParser.parse("  ").asMap());
    assertEquals(Map.of("a", 2L), NodeConfigParser.parse("a=1 a=2").asMap());
  }

  @Test
  void badInputIsNamed() {
    assertEquals(
        "node config: value of 'name' (flower) is not a bool, int, float or quoted string; quote"
            + " text, e.g. name=\"flower\"",
        assertThrows(IllegalArgumentException.class, () -> NodeConfigParser.parse("name=flower"))
            .getMessage());
    assertEquals(
        "node config: 'partition-id' is not a key=value pair (in 'partition-id a=1')",
        assertThrows(
                IllegalArgumentException.class, () -> NodeConfigParser.parse("partition-id a=1"))
            .getMessage());
    assertEquals(
        "node config: 'oops' is not a key=value pair (in 'a=1 oops')",
        assertThrows(IllegalArgumentException.class, () -> NodeConfigParser.parse("a=1 oops"))
            .getMessage());
    assertEquals(
        "node config: value of 'n' (99999999999999999999) is outside a 64-bit integer",
        assertThrows(
                IllegalArgumentException.class,
                () -> NodeConfigParser.parse("n=99999999999999999999"))
            .getMessage());
  }
}
