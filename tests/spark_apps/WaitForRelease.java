package sparkhelm.itest;

import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The JVM twin of wait_for_release.py, run through --class: start a SparkContext and keep the
 * driver up until the file named by the first argument exists (at most 120 seconds).
 */
public final class WaitForRelease {
    private WaitForRelease() {
    }

    public static void main(String[] args) throws InterruptedException {
        JavaSparkContext context = new JavaSparkContext(new SparkConf());
        Path release = Path.of(args[0]);
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!Files.exists(release) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        context.stop();
    }
}
