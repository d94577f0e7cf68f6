import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.jacoco.core.analysis.Analyzer;
import org.jacoco.core.analysis.CoverageBuilder;
import org.jacoco.core.analysis.IClassCoverage;
import org.jacoco.core.analysis.ICounter;
import org.jacoco.core.data.ExecutionData;
import org.jacoco.core.data.ExecutionDataStore;
import org.jacoco.core.instr.Instrumenter;
import org.jacoco.core.runtime.IExecutionDataAccessorGenerator;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * Executed lines of Java programs with JaCoCo's offline instrumentation; run by the sandbox
 * only, never with candidate code on its class path.
 *
 * <p>{@code instrument CLASSES ORIGINALS SOURCE}, in the compile jail after javac: every class
 * compiled from the candidate's file {@code SOURCE} is copied to {@code ORIGINALS} and replaced
 * in {@code CLASSES} by an instrumented copy whose probes come from
 * {@code CrucibleLauncher.getProbes} (so the run needs no JaCoCo runtime). A class JaCoCo cannot
 * instrument is left as it is: coverage must never change a verdict.
 *
 * <p>{@code report ORIGINALS PROBES SOURCE}, in the run jail after a test: reads the probe
 * arrays the launcher wrote at exit ({@code CLASS_ID NAME BITS} per line), analyses the original
 * classes with them and prints the lines of {@code SOURCE} with a covered instruction.
 */
public final class CrucibleCoverage {
    private static final String LAUNCHER = "CrucibleLauncher";

    private CrucibleCoverage() {}

    /** Probe arrays come from the launcher's static method, not from a JaCoCo agent. */
    private static final class LauncherProbes implements IExecutionDataAccessorGenerator {
        @Override
        public int generateDataAccessor(long classId, String className, int probeCount, MethodVisitor mv) {
            mv.visitLdcInsn(classId);
            mv.visitLdcInsn(className);
            mv.visitLdcInsn(probeCount);
            mv.visitMethodInsn(Opcodes.INVOKESTATIC, LAUNCHER, "getProbes", "(JLjava/lang/String;I)[Z", false);
            return 4;
        }
    }

    private static String sourceFile(byte[] bytes) {
        String[] found = {null};
        new ClassReader(bytes).accept(new ClassVisitor(Opcodes.ASM9) {
            @Override
            public void visitSource(String source, String debug) {
                found[0] = source;
            }
        }, ClassReader.SKIP_CODE);
        return found[0];
    }

    private static List<Path> classFiles(Path directory) throws IOException {
        List<Path> found = new ArrayList<>();
        try (Stream<Path> paths = Files.walk(directory)) {
            paths.filter(path -> path.toString().endsWith(".class") && Files.isRegularFile(path))
                    .sorted()
                    .forEach(found::add);
        }
        return found;
    }

    private static void instrument(Path classes, Path originals, String source) throws IOException {
        Files.createDirectories(originals);
        Instrumenter instrumenter = new Instrumenter(new LauncherProbes());
        for (Path file : classFiles(classes)) {
            byte[] original = Files.readAllBytes(file);
            if (!source.equals(sourceFile(original))) {
                continue;
            }
            byte[] instrumented;
            try {
                instrumented = instrumenter.instrument(original, file.toString());
            } catch (IOException | RuntimeException failed) {
                System.err.println("crucible: not instrumented: " + file + ": " + failed);
                continue;
            }
            Path copy = originals.resolve(classes.relativize(file));
            Files.createDirectories(copy.getParent());
            Files.write(copy, original);
            Files.write(file, instrumented);
        }
    }

    private static ExecutionDataStore probes(Path file) throws IOException {
        ExecutionDataStore store = new ExecutionDataStore();
        if (!Files.isRegularFile(file)) {
            return store;
        }
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String[] fields = line.split(" ");
            if (fields.length != 3) {
                continue;
            }
            boolean[] hits = new boolean[fields[2].length()];
            for (int i = 0; i < hits.length; i++) {
                hits[i] = fields[2].charAt(i) == '1';
            }
            store.put(new ExecutionData(Long.parseLong(fields[0]), fields[1], hits));
        }
        return store;
    }

    private static void report(Path originals, Path probeFile, String source) throws IOException {
        CoverageBuilder builder = new CoverageBuilder();
        new Analyzer(probes(probeFile), builder).analyzeAll(originals.toFile());
        // line -> whether one of its instructions ran; lines without instructions are left out
        TreeMap<Integer, Boolean> lines = new TreeMap<>();
        for (IClassCoverage type : builder.getClasses()) {
            if (!source.equals(type.getSourceFileName())) {
                continue;
            }
            for (int line = type.getFirstLine(); line > 0 && line <= type.getLastLine(); line++) {
                ICounter instructions = type.getLine(line).getInstructionCounter();
                if (instructions.getTotalCount() > 0) {
                    lines.merge(line, instructions.getCoveredCount() > 0, Boolean::logicalOr);
                }
            }
        }
        StringBuilder out = new StringBuilder();
        for (var line : lines.entrySet()) {
            out.append(line.getKey()).append(line.getValue() ? " 1\n" : " 0\n");
        }
        System.out.print(out);
    }

    public static void main(String[] args) throws IOException {
        if (args[0].equals("instrument")) {
            instrument(Path.of(args[1]), Path.of(args[2]), args[3]);
        } else {
            report(Path.of(args[1]), Path.of(args[2]), args[3]);
        }
    }
}
