/*
 * Prints a Kafka broker's byte counters, read over JMX from its running JVM (attached by pid, so the
 * broker needs no JMX port): BrokerTopicMetrics BytesInPerSec / BytesOutPerSec `Count`, the bytes
 * producers wrote to and consumers read from the broker since it started (replication excluded).
 *   java bench/fleet/BrokerBytes.java <pid>   ->   {"bytesIn":123,"bytesOut":456}
 */
import com.sun.tools.attach.VirtualMachine;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class BrokerBytes {
  public static void main(String[] args) throws Exception {
    VirtualMachine vm = VirtualMachine.attach(args[0]);
    try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(vm.startLocalManagementAgent()))) {
      MBeanServerConnection server = connector.getMBeanServerConnection();
      long in = count(server, "BytesInPerSec");
      long out = count(server, "BytesOutPerSec");
      System.out.println("{\"bytesIn\":" + in + ",\"bytesOut\":" + out + "}");
    } finally {
      vm.detach();
    }
  }

  private static long count(MBeanServerConnection server, String name) throws Exception {
    ObjectName metric = new ObjectName("kafka.server:type=BrokerTopicMetrics,name=" + name);
    return ((Number) server.getAttribute(metric, "Count")).longValue();
  }
}
