package org.peft4j.datasets.shard;

import java.nio.charset.StandardCharsets;
import org.peft4j.datasets.record.InstructionRecord;

/**
 * A stable 64-bit key of a record's content and the run seed: the same record gets the same key on every machine,
 * JVM and run (no {@code hashCode}, which Java does not promise across versions for every type). FNV-1a over the
 * UTF-8 bytes, finished with the SplitMix64 mixer so that close inputs spread.
 */
public final class ShardKey {
    private ShardKey() {}

    public static long of(InstructionRecord r, long seed) {
        return of(seed, r.instruction(), r.input(), r.output(), r.answer());
    }

    public static long of(long seed, String... fields) {
        long h = 0xcbf29ce484222325L ^ mix(seed);
        for (String f : fields) {
            for (byte b : (f == null ? "" : f).getBytes(StandardCharsets.UTF_8)) {
                h ^= b & 0xff;
                h *= 0x100000001b3L;
            }
            h ^= 0xff; // field separator: ("ab", "c") and ("a", "bc") differ
            h *= 0x100000001b3L;
        }
        return mix(h);
    }

    /** The partition of a key among n: uniform and stable. */
    public static int partition(long key, int n) {
        return (int) Math.floorMod(key, (long) n);
    }

    /** The key as a uniform number in [0, 1). */
    public static double unit(long key) {
        return (key >>> 11) * 0x1.0p-53;
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
