import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Runs a candidate's {@code main} (stdio tests) or one generated test method (assert tests)
 * and reports the outcome on fd 3, the sandbox's result pipe: {@code {"outcome":"ok"}} after a
 * test returned, or the exception's class, message and frames of classpath code (JDK frames
 * left out). The exception is also printed to stderr as the JVM would print it.
 *
 * <p>Usage: {@code CrucibleLauncher stdio CLASSES_DIR PREFERRED_CLASS} or
 * {@code CrucibleLauncher test INDEX}. Needs {@code --add-opens java.base/java.io=ALL-UNNAMED}.
 *
 * <p>Coverage: classes instrumented by {@code CrucibleCoverage} take their probe arrays from
 * {@link #getProbes}; with {@code -Dcrucible.coverage=FILE} they are written to FILE when the
 * JVM shuts down (also after an uncaught exception), for {@code CrucibleCoverage report}.
 */
public final class CrucibleLauncher {
    private static final Map<Long, Map.Entry<String, boolean[]>> PROBES = new LinkedHashMap<>();

    private CrucibleLauncher() {}

    /**
     * The probe array of one instrumented class (JaCoCo's offline runtime contract). No lambdas
     * here or in the shutdown hook: their bootstrap would add CPU time to the test.
     */
    public static boolean[] getProbes(long classId, String className, int probeCount) {
        synchronized (PROBES) {
            Map.Entry<String, boolean[]> found = PROBES.get(classId);
            if (found == null) {
                found = Map.entry(className, new boolean[probeCount]);
                PROBES.put(classId, found);
            }
            return found.getValue();
        }
    }

    private static void writeProbes(String file) {
        StringBuilder out = new StringBuilder();
        synchronized (PROBES) {
            for (Map.Entry<Long, Map.Entry<String, boolean[]>> entry : PROBES.entrySet()) {
                out.append(entry.getKey()).append(' ').append(entry.getValue().getKey()).append(' ');
                for (boolean hit : entry.getValue().getValue()) {
                    out.append(hit ? '1' : '0');
                }
                out.append('\n');
            }
        }
        try {
            Path path = Path.of(file);
            Files.createDirectories(path.getParent());
            Files.writeString(path, out);
        } catch (IOException lost) {
            // Only this test's executed lines are lost; its output stays as without coverage.
        }
    }

    private static FileOutputStream resultPipe() throws ReflectiveOperationException {
        FileDescriptor descriptor = new FileDescriptor();
        Field field = FileDescriptor.class.getDeclaredField("fd");
        field.setAccessible(true);
        field.setInt(descriptor, 3);
        return new FileOutputStream(descriptor);
    }

    private static String quote(String text) {
        if (text == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < text.length() && i < 8192; i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }

    private static String describe(Throwable error) {
        StringBuilder frames = new StringBuilder("[");
        for (StackTraceElement frame : error.getStackTrace()) {
            if (frame.getModuleName() != null || frame.getClassName().startsWith("CrucibleLauncher")) {
                continue;
            }
            if (frames.length() > 1) {
                frames.append(',');
            }
            frames.append('[').append(quote(frame.getFileName())).append(',')
                    .append(frame.getLineNumber()).append(',')
                    .append(quote(frame.getClassName() + "." + frame.getMethodName())).append(']');
        }
        return "{\"outcome\":\"exception\",\"type\":" + quote(error.getClass().getName())
                + ",\"message\":" + quote(error.getMessage()) + ",\"frames\":" + frames + "]}\n";
    }

    private static Method findMain(String directory, String preferred) throws ClassNotFoundException {
        String[] names = new File(directory).list();
        if (names == null) {
            names = new String[0];
        }
        Arrays.sort(names);
        Method found = null;
        for (String name : names) {
            if (!name.endsWith(".class") || name.contains("$") || name.startsWith("Crucible")) {
                continue;
            }
            String className = name.substring(0, name.length() - ".class".length());
            Class<?> type = Class.forName(className, false, CrucibleLauncher.class.getClassLoader());
            try {
                Method main = type.getMethod("main", String[].class);
                if (Modifier.isStatic(main.getModifiers())
                        && (found == null || className.equals(preferred))) {
                    found = main;
                }
            } catch (NoSuchMethodException absent) {
                // not this class
            }
        }
        return found;
    }

    public static void main(String[] args) throws Exception {
        FileOutputStream result = resultPipe();
        String coverage = System.getProperty("crucible.coverage");
        if (coverage != null) {
            Runtime.getRuntime().addShutdownHook(new Thread() {
                @Override
                public void run() {
                    writeProbes(coverage);
                }
            });
        }
        boolean stdio = args[0].equals("stdio");
        Method target;
        if (stdio) {
            target = findMain(args[1], args[2]);
            if (target == null) {
                Throwable missing = new NoSuchMethodError(
                        "no class of the program declares public static void main(String[])");
                missing.setStackTrace(new StackTraceElement[0]);
                result.write(describe(missing).getBytes(StandardCharsets.UTF_8));
                System.exit(1);
            }
        } else {
            target = Class.forName("CrucibleTests").getDeclaredMethod("test" + args[1]);
            target.setAccessible(true);
        }
        try {
            if (stdio) {
                target.invoke(null, (Object) new String[0]);
            } else {
                target.invoke(null);
            }
        } catch (Throwable thrown) {
            Throwable error = thrown instanceof InvocationTargetException ? thrown.getCause() : thrown;
            System.out.flush();
            System.err.print("Exception in thread \"main\" ");
            error.printStackTrace();
            result.write(describe(error).getBytes(StandardCharsets.UTF_8));
            System.exit(1);
        }
        System.out.flush();
        if (!stdio) {
            result.write("{\"outcome\":\"ok\"}\n".getBytes(StandardCharsets.UTF_8));
            System.exit(0);
        }
    }
}
