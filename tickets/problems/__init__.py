"""Problems (issue 25): one root cause linking many incident tickets, answered together when
solved; the known issues customers are told of meanwhile; spikes of like tickets that point
at a problem; and monitoring systems opening problems before customers write."""
