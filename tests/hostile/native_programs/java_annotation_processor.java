// attack: declares an annotation processor that writes to the host and opens a socket while javac runs
// test: {"kind": "stdio", "stdin": "", "expected_stdout": "escaped\n"}
// expect: WRONG_ANSWER
// stopped: WrongAnswer: expected 'escaped\\n', got 'the processor never ran\\n'
import java.util.Set;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.RoundEnvironment;
import javax.annotation.processing.SupportedAnnotationTypes;
import javax.lang.model.element.TypeElement;

@SupportedAnnotationTypes("*")
class Hostile extends AbstractProcessor {
    @Override
    public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
        try {
            new java.net.Socket("1.1.1.1", 443).close();
        } catch (Exception ignored) {
        }
        try {
            java.nio.file.Files.writeString(java.nio.file.Path.of("/tmp/crucible-hostile-processor"), "ran");
            java.nio.file.Files.writeString(java.nio.file.Path.of("processor-ran"), "ran");
        } catch (Exception ignored) {
        }
        return false;
    }
}

public class Main {
    public static void main(String[] args) {
        boolean ran = new java.io.File("/build/processor-ran").exists();
        System.out.println(ran ? "escaped" : "the processor never ran");
    }
}
