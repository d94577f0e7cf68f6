"""One small program per compiled or non-Python language: read two integers from stdin, print
their sum. The language tests check each language's verdicts with them and the throughput
benchmark times each language's compile and run with them."""

ADD_PROGRAMS: dict[str, str] = {
    "c": """#include <stdio.h>

int add(int a, int b) { return a + b; }

int main(void) {
    int a, b;
    if (scanf("%d %d", &a, &b) != 2) return 1;
    printf("%d\\n", add(a, b));
    return 0;
}
""",
    "cpp": """#include <iostream>

int add(int a, int b) { return a + b; }

int main() {
    int a, b;
    std::cin >> a >> b;
    std::cout << add(a, b) << "\\n";
}
""",
    "java": """import java.util.Scanner;

public class Main {
    static int add(int a, int b) { return a + b; }

    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        int a = in.nextInt(), b = in.nextInt();
        System.out.println(add(a, b));
    }
}
""",
    "javascript": """function add(a, b) {
  return a + b;
}

class Solution {
  add(a, b) { return add(a, b); }
}

const input = require('fs').readFileSync(0, 'utf8').trim();
if (/^-?\\d+ -?\\d+$/.test(input)) {
  const [a, b] = input.split(' ').map(Number);
  console.log(add(a, b));
}
""",
    "rust": """use std::io::Read;

fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let v: Vec<i64> = input.split_whitespace().map(|x| x.parse().unwrap()).collect();
    println!("{}", add(v[0], v[1]));
}
""",
    "go": """package main

import "fmt"

func add(a, b int) int { return a + b }

func main() {
	var a, b int
	fmt.Scan(&a, &b)
	fmt.Println(add(a, b))
}
""",
}
