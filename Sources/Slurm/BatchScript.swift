// BatchScript.swift — a Descent batch script from a template (slurm/srun.sbatch, slurm/mpirun.sbatch, or the
// user's own): every {{placeholder}} is filled from the job's [slurm] table and the command line; one that
// cannot be filled is an error naming the template and the placeholder, never a script with a hole in it.

public struct SlurmError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum BatchScript {
    /// The end of every script: wait for the launcher (a trapped signal interrupts `wait`), then requeue the
    /// job if the ranks stopped on a signal with a checkpoint (exit 75) and requeues remain.
    public static let finish = """
    # `wait` returns early when a trapped signal arrives: wait until the launcher has really ended.
    status=0
    while true; do
      wait "$launcher"; status=$?
      kill -0 "$launcher" 2>/dev/null || break
    done
    echo "descent: the ranks ended with status $status at $(date -u +%FT%TZ)"
    if [ "$status" -gt 128 ] && [ "$status" -lt 160 ]; then
      # srun and mpirun report a rank killed by a signal as 128 + the signal's number.
      signal=$(( status - 128 )) crash=""
      case "$signal" in 4|6|7|8|11) crash="; its backtrace, if it printed one, is above" ;; esac
      echo "descent: a rank was killed by signal $signal (SIG$(kill -l "$signal"))$crash"
    fi
    if [ "$status" -eq 75 ]; then
      if [ "${SLURM_RESTART_COUNT:-0}" -lt {{max_requeues}} ]; then
        target="${SLURM_ARRAY_JOB_ID:+${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}}"
        # Slurm sends the job SIGTERM as soon as the requeue is accepted, often while scontrol is still running;
        # ignored (and so for scontrol too), it can no longer kill scontrol and swallow the line below.
        trap '' TERM
        scontrol requeue "${target:-$SLURM_JOB_ID}" &&
          echo "descent: checkpoint written; requeued (restart $(( ${SLURM_RESTART_COUNT:-0} + 1 )) of at most {{max_requeues}})"
      else
        echo "descent: checkpoint written; not requeued: {{max_requeues}} requeue(s) already (slurm.max_requeues)"
      fi
    fi
    exit "$status"
    """

    /// `template` with every {{key}} replaced by `values[key]`; `source` names the template in errors.
    public static func render(_ template: String, values: [String: String], source: String) throws -> String {
        var text = template.replacingOccurrences(of: "{{finish}}", with: finish)
        for (key, value) in values { text = text.replacingOccurrences(of: "{{\(key)}}", with: value) }
        if let open = text.range(of: "{{") {
            let rest = text[open.lowerBound...]
            let name = rest.range(of: "}}").map { String(rest[..<$0.upperBound]) } ?? String(rest.prefix(30))
            throw SlurmError("\(source): template placeholder \(name) cannot be filled (known: \(values.keys.sorted().map { "{{\($0)}}" }.joined(separator: ", ")), {{finish}})")
        }
        return text
    }

    /// `s` as one bash word.
    public static func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
