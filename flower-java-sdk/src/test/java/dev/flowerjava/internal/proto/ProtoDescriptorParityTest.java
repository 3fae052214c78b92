package dev.flowerjava.internal.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import com.google.protobuf.Descriptors.FileDescriptor;
import dev.flowerjava.internal.proto.fleet.FleetProto;
import dev.flowerjava.testing.PythonEnv;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Our {@code proto/flwr/proto/*.proto} against the pinned flwr's own descriptors: every file the
 * Fleet service needs (fleet.proto and its imports, transport.proto included), every message, field
 * (name, number, label, type, type name, oneof, proto3 optional), map entry, enum value and RPC.
 * Any drift fails the build with a list of every difference.
 */
@Tag("interop")
class ProtoDescriptorParityTest {
  private static Map<String, FileDescriptorProto> flwr;
  private static Map<String, FileDescriptorProto> ours;

  @BeforeAll
  static void loadDescriptors() throws Exception {
    String out =
        PythonEnv.run(
                Duration.ofSeconds(120),
                PythonEnv.script("python/sdk_checks/dump_descriptors.py").toString())
            .requireSuccess()
            .stdout()
            .trim();
    FileDescriptorSet set = FileDescriptorSet.parseFrom(Base64.getDecoder().decode(out));
    flwr = new TreeMap<>();
    for (FileDescriptorProto f : set.getFileList()) {
      flwr.put(f.getName(), f);
    }
    ours = new TreeMap<>();
    collect(FleetProto.getDescriptor(), ours);
  }

  private static void collect(FileDescriptor fd, Map<String, FileDescriptorProto> out) {
    for (FileDescriptor dep : fd.getDependencies()) {
      collect(dep, out);
    }
    out.putIfAbsent(fd.getName(), fd.toProto());
  }

  @Test
  void theFleetServiceNeedsTheSameFilesAsInFlwr() {
    assertEquals(flwr.keySet(), ours.keySet());
    assertTrue(flwr.containsKey("flwr/proto/fleet.proto"));
    assertTrue(flwr.containsKey("flwr/proto/transport.proto"));
  }

  @Test
  void everyMessageFieldEnumAndRpcMatchesThePinnedFlwr() {
    List<String> diffs = new ArrayList<>();
    for (Map.Entry<String, FileDescriptorProto> e : flwr.entrySet()) {
      FileDescriptorProto mine = ours.get(e.getKey());
      if (mine == null) {
        diffs.add(e.getKey() + ": missing in proto/");
        continue;
      }
      compareFile(e.getValue(), mine, diffs);
    }
    assertTrue(
        diffs.isEmpty(), "descriptor drift from the pinned flwr:\n" + String.join("\n", diffs));
  }

  @Test
  void theComparisonSeesADifference() {
    // guard against a comparison that silently compares nothing
    FileDescriptorProto fleet = flwr.get("flwr/proto/fleet.proto");
    DescriptorProto first = fleet.getMessageType(0);
    FileDescriptorProto changed =
        fleet.toBuilder()
            .setMessageType(
                0,
                first.toBuilder().setField(0, first.getField(0).toBuilder().setNumber(99).build()))
            .build();
    List<String> diffs = new ArrayList<>();
    compareFile(fleet, changed, diffs);
    assertEquals(
        List.of(
            "flwr/proto/fleet.proto: message RegisterNodeFleetRequest: field public_key:"
                + " flwr has #1 optional bytes , ours #99 optional bytes "),
        diffs);
  }

  private static void compareFile(
      FileDescriptorProto theirs, FileDescriptorProto mine, List<String> diffs) {
    String where = theirs.getName();
    check(diffs, where + ": package", theirs.getPackage(), mine.getPackage());
    check(diffs, where + ": syntax", theirs.getSyntax(), mine.getSyntax());
    check(
        diffs,
        where + ": imports",
        new TreeSet<>(theirs.getDependencyList()),
        new TreeSet<>(mine.getDependencyList()));
    compareMessages(where, theirs.getMessageTypeList(), mine.getMessageTypeList(), diffs);
    compareEnums(where, theirs.getEnumTypeList(), mine.getEnumTypeList(), diffs);
    Map<String, ServiceDescriptorProto> ms = new LinkedHashMap<>();
    mine.getServiceList().forEach(s -> ms.put(s.getName(), s));
    check(diffs, where + ": services", names(theirs.getServiceList()), ms.keySet());
    for (ServiceDescriptorProto s : theirs.getServiceList()) {
      ServiceDescriptorProto m = ms.get(s.getName());
      if (m == null) {
        continue;
      }
      List<String> a = new ArrayList<>();
      List<String> b = new ArrayList<>();
      s.getMethodList().forEach(x -> a.add(rpc(x)));
      m.getMethodList().forEach(x -> b.add(rpc(x)));
      check(diffs, where + ": service " + s.getName(), a, b);
    }
  }

  private static String rpc(MethodDescriptorProto m) {
    return m.getName()
        + "("
        + (m.getClientStreaming() ? "stream " : "")
        + m.getInputType()
        + ") returns ("
        + (m.getServerStreaming() ? "stream " : "")
        + m.getOutputType()
        + ")";
  }

  private static void compareMessages(
      String where, List<DescriptorProto> theirs, List<DescriptorProto> mine, List<String> diffs) {
    Map<String, DescriptorProto> byName = new LinkedHashMap<>();
    mine.forEach(m -> byName.put(m.getName(), m));
    check(diffs, where + ": messages", names(theirs), byName.keySet());
    for (DescriptorProto t : theirs) {
      DescriptorProto m = byName.get(t.getName());
      if (m == null) {
        continue;
      }
      String at = where + ": message " + t.getName();
      check(diffs, at + ": map entry", t.getOptions().getMapEntry(), m.getOptions().getMapEntry());
      List<String> oneofsT = new ArrayList<>();
      List<String> oneofsM = new ArrayList<>();
      t.getOneofDeclList().forEach(o -> oneofsT.add(o.getName()));
      m.getOneofDeclList().forEach(o -> oneofsM.add(o.getName()));
      check(diffs, at + ": oneofs", oneofsT, oneofsM);
      Map<String, FieldDescriptorProto> fields = new LinkedHashMap<>();
      m.getFieldList().forEach(f -> fields.put(f.getName(), f));
      check(diffs, at + ": fields", names(t.getFieldList()), fields.keySet());
      for (FieldDescriptorProto f : t.getFieldList()) {
        FieldDescriptorProto g = fields.get(f.getName());
        if (g != null && !field(t, f).equals(field(m, g))) {
          diffs.add(
              at
                  + ": field "
                  + f.getName()
                  + ": flwr has "
                  + field(t, f)
                  + ", ours "
                  + field(m, g));
        }
      }
      compareMessages(at, t.getNestedTypeList(), m.getNestedTypeList(), diffs);
      compareEnums(at, t.getEnumTypeList(), m.getEnumTypeList(), diffs);
    }
  }

  private static String field(DescriptorProto owner, FieldDescriptorProto f) {
    String oneof =
        f.hasOneofIndex() ? " in oneof " + owner.getOneofDecl(f.getOneofIndex()).getName() : "";
    return "#"
        + f.getNumber()
        + " "
        + f.getLabel().name().substring(6).toLowerCase()
        + " "
        + f.getType().name().substring(5).toLowerCase()
        + " "
        + f.getTypeName()
        + oneof
        + (f.getProto3Optional() ? " proto3_optional" : "");
  }

  private static void compareEnums(
      String where,
      List<EnumDescriptorProto> theirs,
      List<EnumDescriptorProto> mine,
      List<String> diffs) {
    Map<String, EnumDescriptorProto> byName = new LinkedHashMap<>();
    mine.forEach(e -> byName.put(e.getName(), e));
    check(diffs, where + ": enums", names(theirs), byName.keySet());
    for (EnumDescriptorProto t : theirs) {
      EnumDescriptorProto m = byName.get(t.getName());
      if (m != null) {
        check(diffs, where + ": enum " + t.getName(), values(t), values(m));
      }
    }
  }

  private static List<String> values(EnumDescriptorProto e) {
    List<String> out = new ArrayList<>();
    for (EnumValueDescriptorProto v : e.getValueList()) {
      out.add(v.getName() + "=" + v.getNumber());
    }
    return out;
  }

  private static List<String> names(List<? extends com.google.protobuf.Message> protos) {
    List<String> out = new ArrayList<>();
    for (com.google.protobuf.Message p : protos) {
      out.add((String) p.getField(p.getDescriptorForType().findFieldByName("name")));
    }
    return out;
  }

  private static void check(List<String> diffs, String what, Object theirs, Object mine) {
    Object a = theirs instanceof Collection ? List.copyOf((Collection<?>) theirs) : theirs;
    Object b = mine instanceof Collection ? List.copyOf((Collection<?>) mine) : mine;
    if (!a.equals(b)) {
      diffs.add(what + ": flwr has " + a + ", ours " + b);
    }
  }
}
