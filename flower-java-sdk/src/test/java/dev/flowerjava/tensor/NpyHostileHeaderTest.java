package dev.flowerjava.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Inputs {@link NpyFuzzTest} turned up, kept as examples. */
class NpyHostileHeaderTest {

  @Test
  void anUnexpectedMegabyteKeyIsNamedCutShortNotEchoedWhole() {
    String key = "x".repeat(1 << 20);
    byte[] npy =
        NpyTestArrays.npy(
            2,
            "{'" + key + "': 1, " + NpyTestArrays.dict("<f4", false, "(1,)").substring(1),
            new byte[4]);
    NpyFormatException e = assertThrows(NpyFormatException.class, () -> NpyCodec.decode(npy));
    assertEquals(
        "malformed npy header: unexpected key '"
            + "x".repeat(40)
            + "...' (expected only 'descr', 'fortran_order' and 'shape') at offset 1 near '"
            + "'"
            + "x".repeat(39)
            + "...'",
        e.getMessage());
  }
}
