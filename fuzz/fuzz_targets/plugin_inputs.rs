//! Fuzzes what Terraform sends the provider: DynamicValues (msgpack and JSON),
//! raw states, provider and resource configs, function arguments, import ids.
//! See `tests/support/fuzz_driver.rs` for the input layout.
#![no_main]

#[path = "../../tests/support/fuzz_driver.rs"]
mod fuzz_driver;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    thread_local! {
        static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
    }
    RT.with(|rt| rt.block_on(fuzz_driver::exercise(data)));
});
