#[derive(promstatic::LabelValue)]
enum Never {}

fn main() {}
