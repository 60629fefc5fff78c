package org.peft4j.job.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.peft4j.job.fs.Locations;

/**
 * Step-numbered checkpoint directories under one root on any file system, written only by the driver. Each file is
 * written under a temporary name and renamed (atomic on local disks and HDFS); {@value #MANIFEST}, with every file's
 * size and SHA-256, is written last and is the completeness marker (what S3, whose rename is a copy, relies on). A
 * directory without a valid manifest, or whose files do not match it, is never used.
 */
public final class CheckpointStore {
    public static final String MANIFEST = "MANIFEST.json";
    private static final String PREFIX = "step-";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final String root;
    private final int keep;

    public CheckpointStore(String root, int keep) {
        this.root = root;
        this.keep = keep;
    }

    public String root() {
        return root;
    }

    public static String dirName(long globalStep) {
        return String.format("%s%010d", PREFIX, globalStep);
    }

    /** Writes the files, then the manifest, then prunes old checkpoints. Returns the directory. */
    public String write(long globalStep, Map<String, byte[]> files) throws IOException {
        String dir = Locations.child(root, dirName(globalStep));
        Map<String, Object> manifest = new LinkedHashMap<>();
        Map<String, Object> entries = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Locations.write(dir, f.getKey(), o -> o.write(f.getValue()));
            entries.put(f.getKey(), Map.of("bytes", f.getValue().length, "sha256", sha256(f.getValue())));
        }
        manifest.put("global_step", globalStep);
        manifest.put("files", entries);
        byte[] m = JSON.writeValueAsBytes(manifest);
        Locations.write(dir, MANIFEST, o -> o.write(m));
        prune();
        return dir;
    }

    /** The newest complete checkpoint, its files verified against the manifest. */
    public Optional<Loaded> latest() throws IOException {
        List<Long> steps = steps();
        for (int i = steps.size() - 1; i >= 0; i--) {
            Optional<Loaded> l = verify(steps.get(i));
            if (l.isPresent()) {
                return l;
            }
        }
        return Optional.empty();
    }

    /** A verified checkpoint: its step, directory and files. */
    public record Loaded(long globalStep, String dir, Map<String, byte[]> files) {}

    /** Why a checkpoint was skipped is logged; the caller just gets nothing. */
    Optional<Loaded> verify(long step) {
        String dir = Locations.child(root, dirName(step));
        try {
            if (!Locations.exists(dir, MANIFEST)) {
                System.err.println("peft4j: ignoring " + dir + ": no " + MANIFEST + " (incomplete)");
                return Optional.empty();
            }
            JsonNode m = JSON.readTree(Locations.read(Locations.child(dir, MANIFEST)));
            Map<String, byte[]> files = new LinkedHashMap<>();
            for (var it = m.path("files").fields(); it.hasNext(); ) {
                var e = it.next();
                byte[] b = Locations.read(Locations.child(dir, e.getKey()));
                if (b.length != e.getValue().path("bytes").asLong()
                        || !sha256(b).equals(e.getValue().path("sha256").asText())) {
                    System.err.println("peft4j: ignoring " + dir + ": " + e.getKey() + " does not match " + MANIFEST);
                    return Optional.empty();
                }
                files.put(e.getKey(), b);
            }
            if (files.isEmpty() || m.path("global_step").asLong(-1) != step) {
                System.err.println("peft4j: ignoring " + dir + ": " + MANIFEST + " lists no files or another step");
                return Optional.empty();
            }
            return Optional.of(new Loaded(step, dir, files));
        } catch (IOException | RuntimeException e) {
            System.err.println("peft4j: ignoring " + dir + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    /** Step numbers of all checkpoint directories, complete or not, ascending. */
    List<Long> steps() throws IOException {
        List<Long> out = new ArrayList<>();
        for (String name : Locations.listDirs(root)) {
            if (name.startsWith(PREFIX)) {
                try {
                    out.add(Long.parseLong(name.substring(PREFIX.length())));
                } catch (NumberFormatException ignored) {
                    // not ours
                }
            }
        }
        out.sort(null);
        return out;
    }

    /** Keeps the newest {@code keep} complete checkpoints; older ones, and incomplete ones older than those, go. */
    private void prune() throws IOException {
        List<Long> steps = steps();
        List<Long> complete = new ArrayList<>();
        for (long s : steps) {
            if (Locations.exists(Locations.child(root, dirName(s)), MANIFEST)) {
                complete.add(s);
            }
        }
        if (complete.size() <= keep) {
            return;
        }
        long oldestKept = complete.get(complete.size() - keep);
        for (long s : steps) {
            if (s < oldestKept) {
                Locations.deleteRecursively(Locations.child(root, dirName(s)));
            }
        }
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
