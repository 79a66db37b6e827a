;; Works in nine steps of 0.3 s (sleeping in poll_oneoff), printing "progress: N0" after each,
;; then "counted to nine"; exits with proc_exit(0). Its output is the same on every worker.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "progress: 00\0a")
  (data (i32.const 288) "counted to nine\0a")
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  ;; One relative clock subscription (monotonic clock) at 64, its event at 128.
  (func $sleep (param $ns i64)
    (i64.store (i32.const 64) (i64.const 0))
    (i32.store8 (i32.const 72) (i32.const 0))
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (local.get $ns))
    (i64.store (i32.const 96) (i64.const 0))
    (i32.store16 (i32.const 104) (i32.const 0))
    (drop (call $poll_oneoff (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 168))))
  (func (export "_start") (local $k i32)
    (local.set $k (i32.const 1))
    (loop $steps
      (call $sleep (i64.const 300000000))
      (i32.store8 (i32.const 266) (i32.add (i32.const 48) (local.get $k)))
      (call $print (i32.const 256) (i32.const 13))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $steps (i32.le_u (local.get $k) (i32.const 9))))
    (call $print (i32.const 288) (i32.const 16))
    (call $proc_exit (i32.const 0))))
