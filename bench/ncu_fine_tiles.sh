set -u
export PATH=$PATH:/usr/local/cuda/bin
metrics='regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__inst_executed.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,lts__throughput.avg.pct_of_peak_sustained_elapsed,dram__bytes_read.sum,lts__t_bytes.sum,gpu__time_duration.sum,launch__registers_per_thread,launch__occupancy_limit_registers,launch__occupancy_limit_shared_mem,smsp__thread_inst_executed_per_inst_executed.ratio'
for v in prev cur; do for c in fine_f16prog_decode_90 fine_f16prog_decode_50; do
  echo "=== $v $c"
  ncu --metrics "$metrics" -k regex:'^part0$' -c 1 python bench/profile_parts.py case gpu-run/fine16-$v $c 2>&1 | grep -v "^==PROF==" | grep -E "stalled|warps_active|inst_executed|throughput|bytes|duration|registers|occupancy|ratio|error" | grep -v " 0$" | awk '{$1=$1};1' | grep -vE "stalled_[a-z_]+_per_issue_active.ratio ratio 0(\.0[0-4])?"
done; done
