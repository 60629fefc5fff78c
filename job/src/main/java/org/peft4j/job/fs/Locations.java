package org.peft4j.job.fs;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.peft4j.adapters.io.LocalModelFiles;
import org.peft4j.adapters.io.ModelFiles;

/**
 * Where files live: a plain path or {@code file://} URI goes through java.nio (no Hadoop start-up, no .crc files);
 * any other scheme ({@code hdfs://}, {@code s3a://}, ...) through the Hadoop {@link FileSystem} for it, configured
 * from the classpath's {@code core-site.xml} and, in a Spark job, from {@code spark.hadoop.*}.
 */
public final class Locations {
    private static volatile Configuration hadoop = new Configuration();

    private Locations() {}

    /** Replaces the Hadoop configuration used for non-local locations (the Spark job passes its own). */
    public static void useHadoopConfiguration(Configuration conf) {
        hadoop = conf;
    }

    public static boolean isLocal(String location) {
        URI u = uri(location);
        return u.getScheme() == null || u.getScheme().equals("file");
    }

    public static ModelFiles dir(String location) throws IOException {
        if (isLocal(location)) {
            return new LocalModelFiles(localPath(location));
        }
        Path p = new Path(location);
        return new HadoopModelFiles(p.getFileSystem(hadoop), p);
    }

    /** Opens one file for streaming. */
    public static java.io.InputStream open(String location) throws IOException {
        if (isLocal(location)) {
            java.nio.file.Path p = localPath(location);
            if (!Files.isRegularFile(p)) {
                throw new IllegalArgumentException(location + ": no such file");
            }
            return Files.newInputStream(p);
        }
        Path p = new Path(location);
        FileSystem fs = p.getFileSystem(hadoop);
        if (!fs.exists(p)) {
            throw new IllegalArgumentException(location + ": no such file");
        }
        return fs.open(p);
    }

    /** The bytes of one file. */
    public static byte[] read(String location) throws IOException {
        try (var in = open(location)) {
            return in.readAllBytes();
        }
    }

    /** Writes one file: into a temporary name first, renamed into place only once complete. */
    public static void write(String dir, String name, IoWriter body) throws IOException {
        if (isLocal(dir)) {
            java.nio.file.Path d = localPath(dir);
            Files.createDirectories(d);
            java.nio.file.Path tmp = d.resolve("." + name + ".tmp");
            try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                body.write(out);
            }
            Files.move(tmp, d.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return;
        }
        Path d = new Path(dir);
        FileSystem fs = d.getFileSystem(hadoop);
        fs.mkdirs(d);
        Path tmp = new Path(d, "." + name + ".tmp");
        try (OutputStream out = fs.create(tmp, true)) {
            body.write(out);
        }
        Path target = new Path(d, name);
        fs.delete(target, false);
        if (!fs.rename(tmp, target)) {
            throw new IOException("could not rename " + tmp + " to " + target);
        }
    }

    /** True when {@code dir/name} exists. */
    public static boolean exists(String dir, String name) throws IOException {
        if (isLocal(dir)) {
            return Files.exists(localPath(dir).resolve(name));
        }
        Path d = new Path(dir);
        return d.getFileSystem(hadoop).exists(new Path(d, name));
    }

    /**
     * The files a data path names, as Spark's {@code binaryFiles} reads it: a file, every file of a directory, or a
     * glob; sorted. Fails when it names nothing.
     */
    public static java.util.List<String> files(String location) throws IOException {
        Path p = isLocal(location) ? new Path(localPath(location).toUri()) : new Path(location);
        FileSystem fs = p.getFileSystem(hadoop);
        var matches = fs.globStatus(p);
        java.util.List<String> out = new java.util.ArrayList<>();
        for (var st : matches == null ? new org.apache.hadoop.fs.FileStatus[0] : matches) {
            if (st.isDirectory()) {
                for (var f : fs.listStatus(st.getPath())) {
                    if (f.isFile()) {
                        out.add(f.getPath().toString());
                    }
                }
            } else {
                out.add(st.getPath().toString());
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(location + ": no such file");
        }
        out.sort(null);
        return out;
    }

    /** Names of the directories directly under {@code dir} (empty when it does not exist). */
    public static java.util.List<String> listDirs(String dir) throws IOException {
        java.util.List<String> out = new java.util.ArrayList<>();
        if (isLocal(dir)) {
            java.nio.file.Path d = localPath(dir);
            if (Files.isDirectory(d)) {
                try (var s = Files.list(d)) {
                    s.filter(Files::isDirectory)
                            .forEach(p -> out.add(p.getFileName().toString()));
                }
            }
            return out;
        }
        Path d = new Path(dir);
        FileSystem fs = d.getFileSystem(hadoop);
        if (fs.exists(d)) {
            for (var st : fs.listStatus(d)) {
                if (st.isDirectory()) {
                    out.add(st.getPath().getName());
                }
            }
        }
        return out;
    }

    /** Deletes {@code dir} and everything under it. */
    public static void deleteRecursively(String dir) throws IOException {
        if (isLocal(dir)) {
            java.nio.file.Path d = localPath(dir);
            if (Files.exists(d)) {
                try (var s = Files.walk(d)) {
                    for (java.nio.file.Path p :
                            s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            }
            return;
        }
        Path d = new Path(dir);
        d.getFileSystem(hadoop).delete(d, true);
    }

    /** {@code dir + "/" + name} for any location syntax. */
    public static String child(String dir, String name) {
        return dir.endsWith("/") ? dir + name : dir + "/" + name;
    }

    private static java.nio.file.Path localPath(String location) {
        URI u = uri(location);
        return u.getScheme() == null ? java.nio.file.Path.of(location) : java.nio.file.Path.of(u);
    }

    private static URI uri(String location) {
        try {
            return new Path(location).toUri();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a valid path or URI: '" + location + "'", e);
        }
    }

    /** Writes a file's content. */
    @FunctionalInterface
    public interface IoWriter {
        void write(OutputStream out) throws IOException;
    }
}
