;; Sleeps ten minutes in one poll_oneoff call, where no epoch check can stop it, then exits.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (i64.const 600000000000))
    (drop (call $poll_oneoff (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 168)))))
