package org.apache.spark.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

import scala.Tuple2;

/**
 * The test stand-in for the apache/spark image's examples jar, which the pyspark wheel does not
 * carry: the tests compile it at run time and put it where values/scala-pi.yaml points
 * (/opt/spark/examples/jars/...). It estimates Pi from 100000 random points per slice.
 *
 * Usage: SparkPi [slices] [--data-paths] [--hold FILE]
 *   --data-paths  also run a shuffle (executors read each other's block managers) and collect two
 *                 results above spark.task.maxDirectResultSize (the driver fetches them from the
 *                 executors' block managers), so every connection the chart's NetworkPolicies
 *                 allow is used;
 *   --hold FILE   keep the driver (and its UI) up until FILE exists, at most 120 seconds.
 */
public final class SparkPi {
    private static final int POINTS_PER_SLICE = 100_000;
    private static final int BIG_RESULT_BYTES = 2 << 20;

    private SparkPi() {
    }

    public static void main(String[] args) throws InterruptedException {
        List<String> arguments = Arrays.asList(args);
        int slices = args.length > 0 && !args[0].startsWith("--") ? Integer.parseInt(args[0]) : 2;
        int holdAt = arguments.indexOf("--hold");
        JavaSparkContext context = new JavaSparkContext(new SparkConf().setAppName("SparkPi"));

        List<Integer> seeds = IntStream.range(0, slices).boxed().collect(Collectors.toList());
        long inside = context.parallelize(seeds, slices).map(seed -> {
            Random random = new Random(seed);
            long hits = 0;
            for (int i = 0; i < POINTS_PER_SLICE; i++) {
                double x = random.nextDouble() * 2 - 1;
                double y = random.nextDouble() * 2 - 1;
                hits += x * x + y * y <= 1 ? 1 : 0;
            }
            return hits;
        }).reduce(Long::sum);
        System.out.println("Pi is roughly " + 4.0 * inside / ((long) POINTS_PER_SLICE * slices));

        if (arguments.contains("--data-paths")) {
            List<Integer> numbers = IntStream.range(0, 1000).boxed().collect(Collectors.toList());
            long keys = context.parallelize(numbers, 4)
                .mapToPair(n -> new Tuple2<>(n % 10, 1))
                .reduceByKey(Integer::sum, 4)
                .count();
            List<byte[]> big = context.parallelize(Arrays.asList(0, 1), 2).map(i -> new byte[BIG_RESULT_BYTES]).collect();
            System.out.println("Data paths: shuffled " + keys + " keys, fetched " + big.size()
                + " results of " + BIG_RESULT_BYTES + " bytes from the executors");
        }
        if (holdAt >= 0) {
            Path release = Path.of(args[holdAt + 1]);
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (!Files.exists(release) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
        }
        context.stop();
    }
}
